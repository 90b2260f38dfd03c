"""Faults the press simulator can suffer, from a spec string or the Python API.

Spec syntax (the CLI's `--fault`, `PressSimulator.inject`):

    platen_heater:side=top|bottom[,at=S]   that platen's heater gives 0 W: the platen cools
    pressure_loss[:cycle=N]                transfer pressure collapses part-way through fill
    short_fill[:cycle=N]                   the ram stops at 70 % of its stroke

`at=S` arms a heater fault until the job time (the press's own clock, from
Start) reaches S seconds; without it the heater is dead at once. `cycle=N`
(1-based, = wafer N of the job) limits a hydraulic fault to that cycle of
every job; without it every cycle suffers it while the fault is set.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from drivers.molding_press import nodes
from simulators.fault_spec import FaultSpecError, parse_float, parse_int, parse_spec
from simulators.press.model import SIDES

MAX_CYCLE = int(nodes.LIMITS["Cycles"][1])


class FaultKind(enum.StrEnum):
    """The faults the press can suffer; the value is the spec's name."""

    PLATEN_HEATER = "platen_heater"
    PRESSURE_LOSS = "pressure_loss"
    SHORT_FILL = "short_fill"


# Keys each fault takes; the first tuple is required, the second optional.
_KEYS: dict[FaultKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    FaultKind.PLATEN_HEATER: (("side",), ("at",)),
    FaultKind.PRESSURE_LOSS: ((), ("cycle",)),
    FaultKind.SHORT_FILL: ((), ("cycle",)),
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: what, which platen, from which job time, in which cycle."""

    kind: FaultKind
    side: str | None = None  # "top" | "bottom" (platen_heater)
    at_s: float | None = None  # job time it fires at (platen_heater)
    cycle: int | None = None  # the only cycle it hits (pressure_loss, short_fill)

    def __str__(self) -> str:
        args = []
        if self.side is not None:
            args.append(f"side={self.side}")
        if self.at_s is not None:
            args.append(f"at={self.at_s:g}")
        if self.cycle is not None:
            args.append(f"cycle={self.cycle}")
        return f"{self.kind}:{','.join(args)}" if args else str(self.kind)

    def hits_cycle(self, cycle: int) -> bool:
        return self.cycle is None or self.cycle == cycle


def parse_fault(spec: str) -> Fault:
    """Parse `kind[:key=value,...]`; raise FaultSpecError naming the spec and what is wrong."""
    kind, args, bad = parse_spec(spec, FaultKind, _KEYS)
    side = args.get("side")
    if side is not None and side not in SIDES:
        raise bad(f"side must be top or bottom, got {side!r}")
    at = cycle = None
    if "at" in args:
        at = parse_float(args["at"])
        if at is None or at < 0:
            raise bad(f"at must be a job time in seconds ≥ 0, got {args['at']!r}")
    if "cycle" in args:
        cycle = parse_int(args["cycle"])
        if cycle is None or not 1 <= cycle <= MAX_CYCLE:
            raise bad(f"cycle must be an integer 1..{MAX_CYCLE}, got {args['cycle']!r}")
    return Fault(kind, side=side, at_s=at, cycle=cycle)


@dataclass(frozen=True, slots=True)
class FaultEffects:
    """What the active faults do to the press in the cycle now running."""

    failed_heaters: frozenset[int] = frozenset()  # model.TOP / model.BOTTOM
    pressure_loss: bool = False
    short_fill: bool = False


class FaultSet:
    """The faults switched on in one press; armed heater faults wait for their job time."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
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
        if fault.kind is FaultKind.PLATEN_HEATER and fault.side not in SIDES:
            raise FaultSpecError(f"bad fault {fault}: side must be top or bottom")
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

    def update(self, job_time_s: float | None) -> list[Fault]:
        """Activate armed faults whose job time has come (None: no job running); returns them."""
        if job_time_s is None:
            return []
        fired = [
            f
            for f in self._faults
            if f not in self._active and f.at_s is not None and job_time_s >= f.at_s
        ]
        self._active.update(fired)
        return fired

    def effects(self, cycle: int) -> FaultEffects:
        """Effects in cycle `cycle` (1-based; 0 when no cycle runs: hydraulic faults idle)."""
        active = self.active
        return FaultEffects(
            failed_heaters=frozenset(
                SIDES[f.side]
                for f in active
                if f.kind is FaultKind.PLATEN_HEATER and f.side is not None
            ),
            pressure_loss=cycle > 0
            and any(f.kind is FaultKind.PRESSURE_LOSS and f.hits_cycle(cycle) for f in active),
            short_fill=cycle > 0
            and any(f.kind is FaultKind.SHORT_FILL and f.hits_cycle(cycle) for f in active),
        )
