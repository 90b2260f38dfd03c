"""Plating runs: wafers through the cells, charge integrated into thickness per wafer."""
