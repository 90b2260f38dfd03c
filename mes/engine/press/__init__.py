"""Molding press runs: MUF cure cycles, bands, per-wafer degree of cure."""
