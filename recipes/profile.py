"""The setpoint profile a recipe programs: setpoint(t), the active segment, durations.

Program time `t_s` is seconds since the program started (the tool's own
program clock where it reports one). A ramp starts at the previous segment's
target, or at `start_c` (the oven's temperature at start) for the first
segment, and lasts |Δ| / rate minutes. A soak lasts `duration_min`. A program
that opens with a soak holds that soak's target from t = 0: the setpoint
steps there; the schema forbids such steps anywhere else. After the last
segment the setpoint stays at the last target.

Pure functions of (recipe, start_c); a recipe has at most 16 segments, so
each call recomputes the breakpoints instead of caching them.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from recipes.oven import OvenRecipe, RampSegment


@dataclass(frozen=True, slots=True)
class ProfilePoint:
    """A breakpoint of the piecewise-linear setpoint: at `t_s`, the setpoint is `setpoint_c`."""

    t_s: float
    setpoint_c: float


def segment_windows(recipe: OvenRecipe, start_c: float) -> list[tuple[float, float]]:
    """`(t_start_s, t_end_s)` of each segment, in order, back to back from t = 0.

    A ramp whose target equals where it starts has an empty window.
    """
    _check_finite("start_c", start_c)
    windows: list[tuple[float, float]] = []
    t, level = 0.0, start_c
    for seg in recipe.segments:
        if isinstance(seg, RampSegment):
            duration = abs(seg.target_c - level) / seg.rate_c_per_min * 60.0
        else:
            duration = seg.duration_min * 60.0
        windows.append((t, t + duration))
        t, level = t + duration, seg.target_c
    return windows


def expand(recipe: OvenRecipe, start_c: float) -> list[ProfilePoint]:
    """The breakpoints of the profile: t = 0, then the end of each segment.

    Linear interpolation between consecutive points is the setpoint; point
    `i + 1` is where segment `i` ends (at its target).
    """
    windows = segment_windows(recipe, start_c)
    first = recipe.segments[0]
    initial = start_c if isinstance(first, RampSegment) else first.target_c
    points = [ProfilePoint(0.0, initial)]
    points += [
        ProfilePoint(end, seg.target_c)
        for (_, end), seg in zip(windows, recipe.segments, strict=True)
    ]
    return points


def total_duration_s(recipe: OvenRecipe, start_c: float) -> float:
    """Program length in seconds, from `start_c`."""
    return segment_windows(recipe, start_c)[-1][1]


def segment_at(recipe: OvenRecipe, t_s: float, start_c: float) -> int:
    """Index of the segment active at program time `t_s`.

    Windows are half-open, [start, end): at a boundary the next segment is
    active, and an empty window is never active. At or after the end of the
    program, the last segment's index.
    """
    _check_time(t_s)
    ends = [end for _, end in segment_windows(recipe, start_c)]
    return min(bisect.bisect_right(ends, t_s), len(ends) - 1)


def setpoint_at(recipe: OvenRecipe, t_s: float, start_c: float) -> float:
    """The programmed setpoint in °C at program time `t_s` (≥ 0)."""
    _check_time(t_s)
    points = expand(recipe, start_c)
    if t_s >= points[-1].t_s:
        return points[-1].setpoint_c
    i = segment_at(recipe, t_s, start_c)
    a, b = points[i], points[i + 1]
    if b.t_s <= a.t_s:
        return b.setpoint_c
    return a.setpoint_c + (b.setpoint_c - a.setpoint_c) * (t_s - a.t_s) / (b.t_s - a.t_s)


def _check_finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")


def _check_time(t_s: float) -> None:
    _check_finite("t_s", t_s)
    if t_s < 0:
        raise ValueError(f"t_s must be >= 0 (program time), got {t_s}")
