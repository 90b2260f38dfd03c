"""The `MoldingPress` capability: what the engine may ask of any molding press."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class JobStatus(enum.IntEnum):
    NO_JOB = 0
    SET_UP = 1
    IN_PRODUCTION = 2
    INTERRUPTED = 3
    FINISHED = 4


class CycleState(enum.IntEnum):
    IDLE = 0
    CLAMP = 1
    FILL = 2
    CURE = 3
    OPEN = 4


class PressAlarm(enum.IntFlag):
    PLATEN_HEATER = 1 << 0
    PRESSURE_LOSS = 1 << 1
    SHORT_FILL = 1 << 2


@dataclass(frozen=True, slots=True)
class PressJob:
    """A job as the press executes it: one cycle per wafer."""

    name: str
    run_id: int
    mold_temp_c: float
    clamp_force_kn: float
    transfer_pressure_mpa: float
    fill_time_s: float
    cure_time_s: float
    cycles: int


@dataclass(frozen=True, slots=True)
class PressSnapshot:
    job_status: JobStatus
    production_status: int
    cycle_state: CycleState
    alarm_bits: int
    run_id: int
    cycle_time_s: float
    job_time_s: float  # the press's own job clock: the time axis of enforcement
    current_cycle: int
    cycles: int
    good_cycles: int
    bad_cycles: int
    last_cycle_time_s: float
    platen_top_c: float
    platen_bottom_c: float
    clamp_force_kn: float
    transfer_pressure_mpa: float
    ram_position_mm: float


@runtime_checkable
class MoldingPress(Protocol):
    @property
    def tool_id(self) -> str: ...

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def load_job(self, job: PressJob) -> None:
        """Load the job (stamps the run id on the press)."""
        ...

    async def start(self) -> None: ...

    async def abort(self) -> None: ...

    async def reset(self) -> None: ...

    async def read(self) -> PressSnapshot:
        """All process variables in one batched read."""
        ...

    def stream(self) -> AsyncIterator[PressSnapshot]:
        """Snapshots as the subscription reports changes (resubscribes after a reconnect)."""
        ...
