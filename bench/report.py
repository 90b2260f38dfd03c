"""The one table `make bench` prints: each figure, its baseline, the ratio and the target."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured line. `ratio` is pkgline / baseline where there is a baseline."""

    what: str
    ours: str
    baseline: str = "-"
    ratio: float | None = None
    target: str = "-"
    passed: bool | None = None  # None: informational, no target


def verdict(passed: bool | None) -> str:
    if passed is None:
        return "info"
    return "pass" if passed else "MISSED"


def machine() -> str:
    """Absolute figures scale with the machine and what else runs on it; say so."""
    cores = os.cpu_count() or 0
    load1, _, _ = os.getloadavg()
    return f"{cores} cores, load average {load1:.1f} at the start"


def table(figures: Sequence[Figure]) -> str:
    head = ("measure", "pkgline", "baseline (same run)", "ratio", "target", "result")
    rows = [
        (
            f.what,
            f.ours,
            f.baseline,
            "-" if f.ratio is None else f"{f.ratio:.2f}",
            f.target,
            verdict(f.passed),
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    rule = "  ".join("-" * w for w in widths)
    header = "  ".join(cell.ljust(w) for cell, w in zip(head, widths, strict=True))
    return "\n".join([header, rule, *lines])
