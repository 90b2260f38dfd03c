"""Enforcement of a MUF recipe over press snapshots, and each wafer's cure in the mold.

One cycle molds one wafer. While the EMC is in the cavity (fill and cure
stages) the platens must hold the mold temperature band, the clamp its force
band and the transfer its pressure band; the wafer's α is integrated from the
mean platen temperature on the press's job clock from the start of fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.core.press import CycleState, PressAlarm, PressSnapshot
from mes.engine.events import Event, excursion_reason, fmt_t
from mes.services.ledger import CureRecord
from recipes.cure import CureState, EmcKinetics
from recipes.muf import MufRecipe

IN_CAVITY = (CycleState.FILL, CycleState.CURE)


@dataclass
class _Cycle:
    number: int
    state: CureState
    peak_c: float = float("-inf")
    gaps: int = 0
    pressure_reached: bool = False  # transfer pressure builds at the start of fill
    fill_seen: bool = False


@dataclass
class PressChecker:
    recipe: MufRecipe
    kinetics: EmcKinetics
    material: str
    wafer_ids: tuple[str, ...]
    excursions: list[Event] = field(default_factory=list)
    records: dict[int, CureRecord] = field(default_factory=dict)  # cycle number → record
    bad_cycles: dict[int, str] = field(default_factory=dict)
    last: PressSnapshot | None = None
    _active: set[str] = field(default_factory=set)
    _cycle: _Cycle | None = None
    _alarm_bits: int = 0

    def observe(self, snap: PressSnapshot, after_gap: bool = False) -> list[Event]:
        t = snap.job_time_s
        n = snap.current_cycle
        events = self._tool_alarms(snap)
        if self._cycle is not None and (
            n != self._cycle.number or snap.cycle_state not in IN_CAVITY
        ):
            self._cycle.gaps += int(after_gap)  # the gap cut the end of this cycle
            self._close_cycle()
        failing: dict[str, str] = {}
        if snap.cycle_state in IN_CAVITY and n >= 1:
            if self._cycle is None:
                self._cycle = _Cycle(n, CureState(self.kinetics, 0.0))
            mold = self.recipe.mold
            for side, value in (("top", snap.platen_top_c), ("bottom", snap.platen_bottom_c)):
                if abs(value - mold.temperature_c) > mold.band_c:
                    failing[f"platen_{side}"] = (
                        f"{side} platen at {value:.1f} °C outside {mold.temperature_c:g} ± "
                        f"{mold.band_c:g} °C in cycle {n} ({self._wafer(n)}) at {fmt_t(t)}"
                    )
            clamp = self.recipe.clamp
            if abs(snap.clamp_force_kn - clamp.force_kn) > clamp.band_kn:
                failing["clamp"] = (
                    f"clamp force {snap.clamp_force_kn:.0f} kN outside {clamp.force_kn:g} ± "
                    f"{clamp.band_kn:g} kN in cycle {n} ({self._wafer(n)}) at {fmt_t(t)}"
                )
            tr = self.recipe.transfer
            in_band = abs(snap.transfer_pressure_mpa - tr.pressure_mpa) <= tr.band_mpa
            cycle = self._cycle
            # The band applies once the pressure has built up in this cycle; a pressure
            # that never gets there is caught when the cure stage begins.
            cycle.fill_seen |= snap.cycle_state is CycleState.FILL
            if snap.cycle_state is CycleState.CURE and not cycle.pressure_reached:
                failing["transfer"] = (
                    f"transfer pressure never reached {tr.pressure_mpa:g} ± {tr.band_mpa:g} MPa "
                    f"during fill in cycle {n} ({self._wafer(n)}) at {fmt_t(t)}"
                    if cycle.fill_seen
                    else f"fill of cycle {n} ({self._wafer(n)}) not observed: sampling slower "
                    f"than the fill, transfer pressure unverified (at {fmt_t(t)})"
                )
            if in_band:
                cycle.pressure_reached = True
            elif cycle.pressure_reached:
                failing["transfer"] = (
                    f"transfer pressure {snap.transfer_pressure_mpa:.2f} MPa outside "
                    f"{tr.pressure_mpa:g} ± {tr.band_mpa:g} MPa in cycle {n} ({self._wafer(n)}) "
                    f"at {fmt_t(t)}"
                )
            temp = (snap.platen_top_c + snap.platen_bottom_c) / 2
            try:
                self._cycle.state.advance(t, temp)
            except ValueError:  # out of order or implausible: skip it, count the hole
                self._cycle.gaps += 1
            self._cycle.peak_c = max(self._cycle.peak_c, temp)
            self._cycle.gaps += int(after_gap)
        for key, message in failing.items():
            if key not in self._active:
                ev = Event("excursion", key, message, t)
                events.append(ev)
                self.excursions.append(ev)
                self.bad_cycles.setdefault(n, message)
        self._active = set(failing)
        self.last = snap
        return events

    def _wafer(self, cycle: int) -> str:
        return self.wafer_ids[cycle - 1] if 0 < cycle <= len(self.wafer_ids) else f"cycle {cycle}"

    def _close_cycle(self) -> None:
        c = self._cycle
        assert c is not None
        self._cycle = None
        if not 0 < c.number <= len(self.wafer_ids):
            return
        self.records[c.number] = CureRecord(
            self.wafer_ids[c.number - 1],
            self.material,
            0.0,
            c.state.alpha,
            c.state.tg_c,
            c.state.time_above_tg_s,
            c.peak_c,
            c.gaps,
        )

    def _tool_alarms(self, snap: PressSnapshot) -> list[Event]:
        new = snap.alarm_bits & ~self._alarm_bits
        self._alarm_bits = snap.alarm_bits
        out = []
        for flag in PressAlarm:
            if new & flag and flag.name:
                what = flag.name.lower().replace("_", " ")
                msg = (
                    f"press reports {what} in cycle {snap.current_cycle} "
                    f"({self._wafer(snap.current_cycle)}) at {fmt_t(snap.job_time_s)}"
                )
                ev = Event("tool", f"tool_{flag.name.lower()}", msg, snap.job_time_s)
                out.append(ev)
                self.excursions.append(ev)
                self.bad_cycles.setdefault(snap.current_cycle, msg)
        return out

    def finish(self) -> None:
        if self._cycle is not None:
            self._close_cycle()

    def verdict_reasons(self, hold_on_excursion: bool) -> list[str]:
        reasons: list[str] = []
        if hold_on_excursion and self.excursions:
            reasons.append(excursion_reason(self.excursions))
        target = self.recipe.targets.alpha_after_mold
        for i, wafer in enumerate(self.wafer_ids, start=1):
            rec = self.records.get(i)
            if rec is None:
                reasons.append(f"{wafer}: cycle {i} not seen molding")
            elif rec.alpha_after < target:
                unseen = (
                    f" (computed across {rec.gaps} gap(s) in the press's readings during "
                    f"cycle {i}: the cure it did not see is missing)"
                    if rec.gaps
                    else ""
                )
                reasons.append(
                    f"{wafer}: α = {rec.alpha_after:.3f} after molding, below {target:g}{unseen}"
                )
        return reasons

    def summary(self) -> dict[str, object]:
        return {
            "excursions": len(self.excursions),
            "cycles": len(self.records),
            "alpha": {r.wafer_id: round(r.alpha_after, 4) for r in self.records.values()},
            "bad_cycles": sorted(self.bad_cycles),
        }
