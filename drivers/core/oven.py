"""The `Oven` capability: what the engine may ask of any cure oven, whatever its wire."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class ProgramState(enum.IntEnum):
    """State of the oven's on-board program controller (register value on the wire)."""

    IDLE = 0
    RUNNING = 1
    COMPLETE = 2
    ABORTED = 3
    FAULT = 4


class OvenAlarm(enum.IntFlag):
    """Alarms the oven raises itself (bit values of the wire's alarm word)."""

    HEATER_FAILURE = 1 << 0
    THERMOCOUPLE_OPEN = 1 << 1
    DOOR_OPEN = 1 << 2
    N2_LOW = 1 << 3
    OVERTEMP = 1 << 4


class SegmentKind(enum.IntEnum):
    """Kind of a program segment (register value on the wire)."""

    RAMP = 0
    SOAK = 1


@dataclass(frozen=True, slots=True)
class OvenProgramSegment:
    """One segment of a setpoint program as the oven's controller executes it.

    RAMP: move the setpoint to `target_c` at `rate_c_per_min`.
    SOAK: hold the setpoint at `target_c` for `duration_s` seconds.
    """

    kind: SegmentKind
    target_c: float
    rate_c_per_min: float = 0.0
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class OvenSnapshot:
    """Everything the oven reports at one instant, read in one batched call."""

    state: ProgramState
    segment: int  # index of the running segment (0-based); -1 when idle
    program_time_s: float  # the tool's own program clock, the time axis of enforcement
    setpoint_c: float
    zones_c: tuple[float, ...]  # NaN for an open thermocouple
    o2_ppm: float
    n2_flow_lpm: float
    door_open: bool
    alarm_bits: int
    run_id: int


@runtime_checkable
class Oven(Protocol):
    """A cure oven with an on-board program controller."""

    @property
    def tool_id(self) -> str: ...

    async def connect(self) -> None:
        """Open the connection (retrying with backoff is the transport's job)."""
        ...

    async def close(self) -> None: ...

    async def download_program(self, segments: Sequence[OvenProgramSegment]) -> None:
        """Write a setpoint program; the oven must be idle or finished."""
        ...

    async def set_n2_flow(self, lpm: float) -> None:
        """Set the N2 purge flow the recipe asks for."""
        ...

    async def stamp_run_id(self, run_id: int) -> None:
        """Write the supervisor's run id on the tool so a supervisor can re-attach."""
        ...

    async def start(self) -> None: ...

    async def abort(self) -> None: ...

    async def read(self) -> OvenSnapshot:
        """Read the whole process image in one batched request."""
        ...

    def stream(self, interval_s: float) -> AsyncIterator[OvenSnapshot]:
        """Yield a snapshot every `interval_s` (on the driver's clock)."""
        ...
