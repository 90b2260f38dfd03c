"""Cure oven runs: recipe → program, enforcement of bands, ramp rate, atmosphere and soak."""
