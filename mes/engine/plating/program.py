"""The current a plating cell is programmed to pass, as the tool executes it.

The supervisor loads each wafer's job as steps of (current, duration) and one ramp
time: the tool ramps the set-point linearly from the previous step's current (0 A
before the first) over the ramp, then holds it to the end of the step, and drops to
0 A when the job ends. That makes the programmed current piecewise linear in the
job's time, so its charge over any interval is exact. The supervisor bridges a hole
in a wafer's current samples with it (see `PlatingRunSupervisor._bridge`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drivers.core.plater import PlatingStep


@dataclass(frozen=True, slots=True)
class _Piece:
    t0: float
    t1: float
    i0: float
    i1: float

    def current_a(self, t: float) -> float:
        return self.i0 + (self.i1 - self.i0) * (t - self.t0) / (self.t1 - self.t0)


class ToolProgram:
    def __init__(self, steps: Sequence[PlatingStep], ramp_s: float) -> None:
        pieces, t, previous = [], 0.0, 0.0
        for step in steps:
            ramp = min(ramp_s, step.duration_s)
            if ramp > 0:
                reached = previous + (step.current_a - previous) * ramp / ramp_s
                pieces.append(_Piece(t, t + ramp, previous, reached))
            if step.duration_s > ramp:
                pieces.append(_Piece(t + ramp, t + step.duration_s, step.current_a, step.current_a))
            t += step.duration_s
            previous = step.current_a
        self.pieces = tuple(pieces)
        self.end_s = t

    def current_a(self, t: float) -> float:
        """Programmed current at job time `t` (0 before the start and from the end on)."""
        for piece in self.pieces:
            if piece.t0 <= t < piece.t1:
                return piece.current_a(t)
        return 0.0

    def charge_c(self, t0: float, t1: float) -> float:
        """Programmed charge from job time `t0` to `t1` (exact: trapezoids on each piece)."""
        total = 0.0
        for piece in self.pieces:
            a, b = max(t0, piece.t0), min(t1, piece.t1)
            if b > a:
                total += (piece.current_a(a) + piece.current_a(b)) / 2 * (b - a)
        return total
