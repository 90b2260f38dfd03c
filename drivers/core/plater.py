"""The `Plater` capability: what the engine may ask of any Cu plating tool."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class CellState(enum.IntEnum):
    IDLE = 0
    LOADED = 1
    PLATING = 2
    DONE = 3
    FAULT = 4
    ABORTED = 5


class PlaterAlarm(enum.IntFlag):
    CONTACT = 1 << 0
    RECTIFIER_TRIP = 1 << 1
    BATH_OVERTEMP = 1 << 2

    @property
    def text(self) -> str:
        """What an operator reads: 'contact failure', 'rectifier trip', ..."""
        return ALARM_TEXT.get(self, (self.name or "alarm").lower().replace("_", " "))


ALARM_TEXT = {
    PlaterAlarm.CONTACT: "contact failure",
    PlaterAlarm.RECTIFIER_TRIP: "rectifier trip",
    PlaterAlarm.BATH_OVERTEMP: "bath over temperature",
}


@dataclass(frozen=True, slots=True)
class PlatingStep:
    current_a: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class CellSnapshot:
    cell: int
    state: CellState
    wafer_id: str
    run_id: int
    step: int
    job_time_s: float
    current_setpoint_a: float
    current_a: float
    voltage_v: float
    alarm_bits: int


@dataclass(frozen=True, slots=True)
class PlaterSnapshot:
    bath_temp_c: float
    agitation_rpm: float
    bath_amp_hours: float
    bath_alarm_bits: int
    cells: tuple[CellSnapshot, ...]


@runtime_checkable
class Plater(Protocol):
    @property
    def tool_id(self) -> str: ...

    @property
    def cells(self) -> int: ...

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def load(
        self, cell: int, wafer_id: str, run_id: int, steps: Sequence[PlatingStep], ramp_s: float
    ) -> None: ...

    async def start(self, cell: int) -> None: ...

    async def abort(self, cell: int) -> None: ...

    async def reset(self, cell: int) -> None: ...

    async def read(self) -> PlaterSnapshot:
        """Bath and every cell in one batched read."""
        ...
