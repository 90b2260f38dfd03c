"""Errors a simulator raises for bad configuration (CLI arguments, fault specs)."""

from __future__ import annotations


class SimConfigError(ValueError):
    """A simulator argument is invalid; the message names the argument and its limit.

    The `pkgline` CLI prints it on one line, without a traceback, and exits 2.
    """
