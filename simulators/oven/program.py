"""The oven's on-board program controller: runs a downloaded setpoint program on sim time.

Segments are "ramp to target at rate" and "soak at target for duration"
(DOMAIN.md, "A ramp profile is a list of segments"). The controller has no
holdback: a soak's clock runs whatever the zones read. Guaranteed soak is the
supervisor's job (the engine), not the tool's, so the two stay independent.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

_EPSILON_S = 1e-6  # a segment this close to its end is at its end (float rounding)


class ProgramState(enum.IntEnum):
    """Program controller state; values are registers.PROGRAM_STATES on the wire."""

    IDLE = 0
    RUNNING = 1
    COMPLETE = 2
    ABORTED = 3
    FAULT = 4


class SegmentKind(enum.IntEnum):
    """Segment kind; values are registers.SEGMENT_KINDS on the wire."""

    RAMP = 0
    SOAK = 1


@dataclass(frozen=True, slots=True)
class ProgramSegment:
    """One program step: RAMP moves the setpoint to target at rate; SOAK holds it for duration."""

    kind: SegmentKind
    target_c: float
    rate_c_per_min: float = 0.0
    duration_s: float = 0.0


class CommandRejectedError(Exception):
    """The controller refused a command or a program in its present state."""


class ControllerBusyError(CommandRejectedError):
    """Running (or latched in fault): the program cannot change and start is refused."""


class InvalidProgramError(CommandRejectedError):
    """Start refused: no program, or a segment that can never end."""


class ProgramController:
    """Holds one program and steps it: state, segment index, program time, setpoint."""

    def __init__(self) -> None:
        self.segments: tuple[ProgramSegment, ...] = ()
        self.state = ProgramState.IDLE
        self.segment_index = -1
        self.program_time_s = 0.0
        self.setpoint_c: float | None = None  # None while not running: heaters off
        self._segment_start_c = 0.0
        self._segment_elapsed_s = 0.0

    @property
    def running(self) -> bool:
        return self.state is ProgramState.RUNNING

    @property
    def setpoint_rate_c_per_s(self) -> float:
        """Slope of the setpoint now (signed), for the zone loops' ramp feedforward."""
        if not self.running or self.setpoint_c is None:
            return 0.0
        seg = self.segments[self.segment_index]
        if seg.kind is not SegmentKind.RAMP or self.setpoint_c == seg.target_c:
            return 0.0
        return math.copysign(seg.rate_c_per_min / 60.0, seg.target_c - self.setpoint_c)

    @property
    def max_target_c(self) -> float | None:
        """Highest target in the program (the over-temperature limit is set from it)."""
        return max((s.target_c for s in self.segments), default=None)

    def load(self, segments: Sequence[ProgramSegment]) -> None:
        """Replace the program; refused while running."""
        if self.running:
            raise ControllerBusyError("program is running; abort it before downloading a new one")
        self.segments = tuple(segments)

    def check_start(self, segments: Sequence[ProgramSegment] | None = None) -> None:
        """Raise unless `start` would be accepted with `segments` (default: the loaded program)."""
        program = self.segments if segments is None else tuple(segments)
        if self.running:
            raise ControllerBusyError("program already running")
        if self.state is ProgramState.FAULT:
            raise ControllerBusyError("controller latched in fault; write reset first")
        if not program:
            raise InvalidProgramError("no program: segment_count is 0")
        for i, seg in enumerate(program):
            if seg.kind is SegmentKind.RAMP and seg.rate_c_per_min <= 0:
                raise InvalidProgramError(f"segment {i} is a ramp with rate 0")

    def start(self, start_temp_c: float) -> None:
        """Run the program from segment 0, ramping from `start_temp_c` (mean zone temperature)."""
        self.check_start()
        self.state = ProgramState.RUNNING
        self.segment_index = 0
        self.program_time_s = 0.0
        self.setpoint_c = start_temp_c
        self._segment_start_c = start_temp_c
        self._segment_elapsed_s = 0.0

    def abort(self) -> None:
        """Stop a running program (heaters off); a no-op otherwise."""
        if self.running:
            self._stop(ProgramState.ABORTED)

    def trip(self) -> None:
        """Safety trip (over-temperature): stop in FAULT until reset."""
        if self.running:
            self._stop(ProgramState.FAULT)

    def reset(self) -> None:
        """Back to IDLE from COMPLETE, ABORTED or FAULT; refused while running."""
        if self.running:
            raise ControllerBusyError("program is running; abort it before reset")
        self.state = ProgramState.IDLE
        self.segment_index = -1
        self.program_time_s = 0.0
        self.setpoint_c = None

    def advance(self, dt: float) -> None:
        """Run the program for `dt` seconds of sim time, crossing segment ends exactly."""
        if not self.running or self.setpoint_c is None:
            return
        remaining = dt
        sp = self.setpoint_c
        while self.running:
            seg = self.segments[self.segment_index]
            left = self._time_left(seg)
            if left > remaining + _EPSILON_S:
                self._segment_elapsed_s += remaining
                sp = self._setpoint_in(seg)
                break
            sp = seg.target_c
            remaining = max(0.0, remaining - left)
            self._next_segment(sp)
        if self.running:
            self.setpoint_c = sp
            self.program_time_s += dt
        else:
            self.program_time_s += dt - remaining  # stops at the instant the program ended

    def _time_left(self, seg: ProgramSegment) -> float:
        """Seconds until `seg` ends: a ramp when the setpoint reaches its target (up or
        down); a soak after its duration, whatever the zones read (no holdback)."""
        if seg.kind is SegmentKind.RAMP:
            travel = abs(seg.target_c - self._segment_start_c)
            return travel / (seg.rate_c_per_min / 60.0) - self._segment_elapsed_s
        return seg.duration_s - self._segment_elapsed_s

    def _setpoint_in(self, seg: ProgramSegment) -> float:
        """Setpoint part-way through `seg`. A ramp's is computed from its start and elapsed
        time, not accumulated, so its end lands on the target without rounding drift."""
        if seg.kind is SegmentKind.SOAK:
            return seg.target_c  # a soak steps straight to its target
        travel = seg.rate_c_per_min / 60.0 * self._segment_elapsed_s
        return self._segment_start_c + math.copysign(travel, seg.target_c - self._segment_start_c)

    def _next_segment(self, setpoint_c: float) -> None:
        self._segment_elapsed_s = 0.0
        self._segment_start_c = setpoint_c
        if self.segment_index + 1 >= len(self.segments):
            self._stop(ProgramState.COMPLETE)
        else:
            self.segment_index += 1

    def _stop(self, state: ProgramState) -> None:
        self.state = state
        self.segment_index = -1
        self.setpoint_c = None
