"""Faults the plating-tool simulator can suffer, from a spec string or the Python API.

Spec syntax (the CLI's `--fault`, `PlaterSimulator.inject`):

    contact:cell=K[,at=S]          the wafer in cell K loses contact: ~2 % of the current
                                   reaches it, the voltage goes to compliance, ALARM_CONTACT
    rectifier_trip:cell=K[,at=S]   cell K's rectifier trips: current 0, the cell faults,
                                   ALARM_RECTIFIER_TRIP
    bath_overtemp[:at=S]           the bath's chiller fails: it heads for ~35 °C,
                                   ALARM_BATH_OVERTEMP above 28 °C

`at=S` arms a cell fault until that cell's job time (from Start) reaches S
seconds, a bath fault until the tool's time (from simulator start) does;
without it the fault is active at once. A fault stays active (for every
later job in that cell) until it is cleared.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from simulators.fault_spec import FaultSpecError, parse_float, parse_int, parse_spec

MAX_CELL = 64


class FaultKind(enum.StrEnum):
    """The faults the plater can suffer; the value is the spec's name."""

    CONTACT = "contact"
    RECTIFIER_TRIP = "rectifier_trip"
    BATH_OVERTEMP = "bath_overtemp"


# Keys each fault takes; the first tuple is required, the second optional.
_KEYS: dict[FaultKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    FaultKind.CONTACT: (("cell",), ("at",)),
    FaultKind.RECTIFIER_TRIP: (("cell",), ("at",)),
    FaultKind.BATH_OVERTEMP: ((), ("at",)),
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: what, in which cell, from which time."""

    kind: FaultKind
    cell: int | None = None  # 1-based (contact, rectifier_trip)
    at_s: float | None = None  # cell job time (cell faults) or tool time (bath) it fires at

    def __str__(self) -> str:
        args = []
        if self.cell is not None:
            args.append(f"cell={self.cell}")
        if self.at_s is not None:
            args.append(f"at={self.at_s:g}")
        return f"{self.kind}:{','.join(args)}" if args else str(self.kind)

    @property
    def on_cell(self) -> bool:
        return self.kind is not FaultKind.BATH_OVERTEMP


def parse_fault(spec: str) -> Fault:
    """Parse `kind[:key=value,...]`; raise FaultSpecError naming the spec and what is wrong."""
    kind, args, bad = parse_spec(spec, FaultKind, _KEYS)
    cell = at = None
    if "cell" in args:
        cell = parse_int(args["cell"])
        if cell is None or not 1 <= cell <= MAX_CELL:
            raise bad(f"cell must be an integer 1..{MAX_CELL}, got {args['cell']!r}")
    if "at" in args:
        at = parse_float(args["at"])
        if at is None or at < 0:
            raise bad(f"at must be a time in seconds ≥ 0, got {args['at']!r}")
    return Fault(kind, cell=cell, at_s=at)


class FaultSet:
    """The faults switched on in one plater; armed faults wait for their time."""

    def __init__(self, faults: Iterable[Fault] = (), cells: int | None = None) -> None:
        self._cells = cells
        self._faults: list[Fault] = []
        self._active: set[Fault] = set()
        for fault in faults:
            self.add(fault)

    @property
    def faults(self) -> tuple[Fault, ...]:
        return tuple(self._faults)

    @property
    def active(self) -> tuple[Fault, ...]:
        return tuple(f for f in self._faults if f in self._active)

    def add(self, fault: Fault) -> None:
        """Switch a fault on (or arm it, when it has `at_s`); adding it twice is a no-op."""
        if fault.on_cell:
            if fault.cell is None:
                raise FaultSpecError(f"bad fault {fault}: cell= is required")
            if self._cells is not None and not 1 <= fault.cell <= self._cells:
                raise FaultSpecError(
                    f"bad fault {fault}: cell must be 1..{self._cells} on this tool"
                )
        if fault not in self._faults:
            self._faults.append(fault)
            if fault.at_s is None:
                self._active.add(fault)

    def clear(self, kind: FaultKind | str | None = None) -> list[Fault]:
        """Remove faults of `kind` (all if None); returns them."""
        if kind is not None:
            try:
                kind = FaultKind(kind)
            except ValueError:
                raise FaultSpecError(f"unknown fault kind {kind!r}") from None
        gone = [f for f in self._faults if kind is None or f.kind == kind]
        for fault in gone:
            self._faults.remove(fault)
            self._active.discard(fault)
        return gone

    def update_cell(self, cell: int, job_time_s: float) -> list[Fault]:
        """Activate armed faults of `cell` whose job time has come; returns them."""
        return self._fire(
            [f for f in self._faults if f.on_cell and f.cell == cell],
            job_time_s,
        )

    def update_bath(self, tool_time_s: float) -> list[Fault]:
        """Activate armed bath faults whose tool time has come; returns them."""
        return self._fire([f for f in self._faults if not f.on_cell], tool_time_s)

    def _fire(self, candidates: list[Fault], t: float) -> list[Fault]:
        fired = [
            f for f in candidates if f not in self._active and f.at_s is not None and t >= f.at_s
        ]
        self._active.update(fired)
        return fired

    def cell_active(self, kind: FaultKind, cell: int) -> bool:
        return any(f.kind is kind and f.cell == cell for f in self.active)

    def bath_active(self, kind: FaultKind) -> bool:
        return any(f.kind is kind for f in self.active)
