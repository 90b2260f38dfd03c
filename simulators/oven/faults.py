"""Faults the oven simulator can suffer, from a spec string or the Python API.

The faults worth simulating are listed in DOMAIN.md ("Cure oven"): heater
zone failure, thermocouple open, overshoot, door opened, N2 loss. Spec syntax
(the CLI's `--fault`, `OvenSimulator.inject`):

    heater_failure:zone=N[,at=S]     zone N's heater gives 0 W
    tc_open:zone=N[,at=S]            zone N's thermocouple reads NaN (loop output 0 %)
    overshoot:zone=N,delta=C[,at=S]  zone N's loop controls C °C above the setpoint
    door_open[:at=S]                 door opens (air floods in, extra heat loss)
    n2_loss[:at=S]                   N2 supply lost (flow → 0, O2 rises)

`at=S` arms the fault until the running program's time reaches S seconds;
without it the fault is active at once. Zones are 1-based, as on the wire.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from drivers.cure_oven import registers as reg
from simulators.fault_spec import FaultSpecError, parse_float, parse_int, parse_spec


class FaultKind(enum.StrEnum):
    """The faults DOMAIN.md lists as worth simulating; the value is the spec's name."""

    HEATER_FAILURE = "heater_failure"
    TC_OPEN = "tc_open"
    OVERSHOOT = "overshoot"
    DOOR_OPEN = "door_open"
    N2_LOSS = "n2_loss"


# Keys each fault takes; the first tuple is required, the second optional.
_KEYS: dict[FaultKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    FaultKind.HEATER_FAILURE: (("zone",), ("at",)),
    FaultKind.TC_OPEN: (("zone",), ("at",)),
    FaultKind.OVERSHOOT: (("zone", "delta"), ("at",)),
    FaultKind.DOOR_OPEN: ((), ("at",)),
    FaultKind.N2_LOSS: ((), ("at",)),
}
MAX_OVERSHOOT_C = 100.0


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: what, where (1-based zone), how much, and from which program time."""

    kind: FaultKind
    zone: int | None = None
    delta_c: float | None = None
    at_s: float | None = None

    def __str__(self) -> str:
        args = []
        if self.zone is not None:
            args.append(f"zone={self.zone}")
        if self.delta_c is not None:
            args.append(f"delta={self.delta_c:g}")
        if self.at_s is not None:
            args.append(f"at={self.at_s:g}")
        return f"{self.kind}:{','.join(args)}" if args else str(self.kind)


def parse_fault(spec: str, zones: int = reg.MAX_ZONES) -> Fault:
    """Parse `kind[:key=value,...]`; raise FaultSpecError naming the spec and what is wrong."""
    kind, args, bad = parse_spec(spec, FaultKind, _KEYS)
    zone = delta = at = None
    if "zone" in args:
        zone = parse_int(args["zone"])
        if zone is None or not 1 <= zone <= zones:
            raise bad(f"zone must be an integer 1..{zones}, got {args['zone']!r}")
    if "delta" in args:
        delta = parse_float(args["delta"])
        if delta is None or not 0 < delta <= MAX_OVERSHOOT_C:
            raise bad(f"delta must be a number of °C in (0, {MAX_OVERSHOOT_C:g}]")
    if "at" in args:
        at = parse_float(args["at"])
        if at is None or at < 0:
            raise bad(f"at must be a program time in seconds ≥ 0, got {args['at']!r}")
    return Fault(kind, zone=zone, delta_c=delta, at_s=at)


@dataclass(frozen=True, slots=True)
class FaultEffects:
    """What the active faults do to the plant this instant (zone indices 0-based)."""

    failed_heaters: frozenset[int] = frozenset()
    open_tcs: frozenset[int] = frozenset()
    control_offset_c: Mapping[int, float] = field(default_factory=dict)
    door_open: bool = False
    n2_loss: bool = False

    @property
    def heater_fault_mask(self) -> int:
        """Bit z set: heater of zone z+1 failed (registers.HEATER_FAULT_MASK)."""
        return sum(1 << z for z in self.failed_heaters)

    @property
    def tc_open_mask(self) -> int:
        """Bit z set: thermocouple of zone z+1 open (registers.TC_OPEN_MASK)."""
        return sum(1 << z for z in self.open_tcs)

    @property
    def alarm_bits(self) -> int:
        """The registers.ALARM_* bits these faults raise (N2 low: the supply pressure switch)."""
        bits = 0
        if self.failed_heaters:
            bits |= reg.ALARM_HEATER_FAILURE
        if self.open_tcs:
            bits |= reg.ALARM_TC_OPEN
        if self.door_open:
            bits |= reg.ALARM_DOOR_OPEN
        if self.n2_loss:
            bits |= reg.ALARM_N2_LOW
        return bits


class FaultSet:
    """The faults switched on in one oven: armed ones wait for their program time."""

    def __init__(self, zones: int, faults: Iterable[Fault] = ()) -> None:
        self.zones = zones
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
        if fault.zone is not None and not 1 <= fault.zone <= self.zones:
            raise FaultSpecError(f"bad fault {fault}: zone must be 1..{self.zones}")
        if fault not in self._faults:
            self._faults.append(fault)
            if fault.at_s is None:
                self._active.add(fault)

    def clear(self, kind: FaultKind | str | None = None, zone: int | None = None) -> list[Fault]:
        """Remove faults matching kind (all if None) and zone (any if None); returns them."""
        if kind is not None:
            try:
                kind = FaultKind(kind)
            except ValueError:
                raise FaultSpecError(f"unknown fault kind {kind!r}") from None
        gone = [
            f
            for f in self._faults
            if (kind is None or f.kind == kind) and (zone is None or f.zone == zone)
        ]
        for fault in gone:
            self._faults.remove(fault)
            self._active.discard(fault)
        return gone

    def update(self, program_time_s: float | None) -> list[Fault]:
        """Activate armed faults whose time has come (None: no program running); returns them."""
        if program_time_s is None:
            return []
        fired = [
            f
            for f in self._faults
            if f not in self._active and f.at_s is not None and program_time_s >= f.at_s
        ]
        self._active.update(fired)
        return fired

    def effects(self) -> FaultEffects:
        active = self.active
        offsets: dict[int, float] = {}
        for f in active:
            if f.kind is FaultKind.OVERSHOOT and f.zone is not None and f.delta_c is not None:
                offsets[f.zone - 1] = offsets.get(f.zone - 1, 0.0) + f.delta_c
        return FaultEffects(
            failed_heaters=_zones(active, FaultKind.HEATER_FAILURE),
            open_tcs=_zones(active, FaultKind.TC_OPEN),
            control_offset_c=offsets,
            door_open=any(f.kind is FaultKind.DOOR_OPEN for f in active),
            n2_loss=any(f.kind is FaultKind.N2_LOSS for f in active),
        )


def _zones(faults: Iterable[Fault], kind: FaultKind) -> frozenset[int]:
    return frozenset(f.zone - 1 for f in faults if f.kind is kind and f.zone is not None)
