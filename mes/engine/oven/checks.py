"""Enforcement of an oven recipe over the samples of a run.

`OvenChecker` is a fold over snapshots on the tool's program-time axis: it
raises events when a check starts failing (band per zone, thermocouple,
ramp rate, O2, N2, door, program deviation), accumulates guaranteed soak
time, and gives the completion verdict. It does no I/O, so a supervisor that
re-attaches after a restart rebuilds it by replaying the stored samples.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from drivers.core.oven import OvenSnapshot
from mes.engine.events import Event, excursion_reason, fmt_t
from recipes.oven import OvenRecipe, SoakSegment
from recipes.profile import segment_at, segment_windows, setpoint_at

PROGRAM_DEVIATION_C = 2.0  # tool setpoint vs the recipe's profile: beyond this the program differs


@dataclass
class SoakAccount:
    segment: int
    required_s: float
    target_c: float
    band_c: float
    counted_s: float = 0.0


@dataclass
class OvenChecker:
    recipe: OvenRecipe
    start_c: float
    excursions: list[Event] = field(default_factory=list)
    _active: set[str] = field(default_factory=set)
    _prev: OvenSnapshot | None = None
    _prev_in_band: bool = False
    _history: dict[int, deque[tuple[float, float]]] = field(default_factory=dict)
    soaks: dict[int, SoakAccount] = field(default_factory=dict)
    last: OvenSnapshot | None = None

    def __post_init__(self) -> None:
        self._windows = segment_windows(self.recipe, self.start_c)
        for i, seg in enumerate(self.recipe.segments):
            if isinstance(seg, SoakSegment) and seg.guaranteed:
                self.soaks[i] = SoakAccount(i, seg.duration_min * 60, seg.target_c, seg.band_c)

    def observe(self, snap: OvenSnapshot, after_gap: bool = False) -> list[Event]:
        """Check one snapshot; returns the checks that started failing with it."""
        t = snap.program_time_s
        events: list[Event] = []
        failing: dict[str, str] = {}
        idx = segment_at(self.recipe, t, self.start_c)
        seg = self.recipe.segments[idx]
        sp = setpoint_at(self.recipe, t, self.start_c)
        what = "soak" if isinstance(seg, SoakSegment) else "ramp"
        in_band = True
        for z, pv in enumerate(snap.zones_c, start=1):
            if math.isnan(pv):
                failing[f"tc{z}"] = f"zone {z} thermocouple open at {fmt_t(t)}"
                in_band = False
                continue
            if abs(pv - sp) > seg.band_c:
                in_band = False
                failing[f"band{z}"] = (
                    f"zone {z} at {pv:.1f} °C outside {sp:.1f} ± {seg.band_c:g} °C "
                    f"({what}, segment {idx + 1}) at {fmt_t(t)}"
                )
            rate = self._rate(z, t, pv)
            limit = self.recipe.limits.max_ramp_rate_c_per_min
            if rate is not None and abs(rate) > limit:
                failing[f"rate{z}"] = (
                    f"zone {z} ramping at {rate:+.2f} °C/min, limit {limit:g} °C/min at {fmt_t(t)}"
                )
        atm = self.recipe.atmosphere
        if snap.o2_ppm > atm.o2_ppm_max:
            failing["o2"] = f"O2 {snap.o2_ppm:.0f} ppm above {atm.o2_ppm_max:g} ppm at {fmt_t(t)}"
        if snap.n2_flow_lpm < atm.n2_flow_min_lpm:
            failing["n2"] = (
                f"N2 flow {snap.n2_flow_lpm:.1f} L/min below {atm.n2_flow_min_lpm:g} L/min "
                f"at {fmt_t(t)}"
            )
        if snap.door_open:
            failing["door"] = f"door open at {fmt_t(t)}"
        if not math.isnan(snap.setpoint_c) and abs(snap.setpoint_c - sp) > PROGRAM_DEVIATION_C:
            failing["program"] = (
                f"tool setpoint {snap.setpoint_c:.1f} °C differs from the recipe's {sp:.1f} °C "
                f"at {fmt_t(t)}"
            )
        for key, message in failing.items():
            if key not in self._active:
                ev = Event("excursion", key, message, t)
                events.append(ev)
                self.excursions.append(ev)
        self._active = set(failing)
        self._account_soak(snap, in_band, after_gap)
        self._prev, self._prev_in_band, self.last = snap, in_band, snap
        return events

    def _rate(self, zone: int, t: float, pv: float) -> float | None:
        """PV rate over the recipe's window (°C/min), once half a window is seen."""
        window = self.recipe.limits.ramp_rate_window_s
        hist = self._history.setdefault(zone, deque())
        hist.append((t, pv))
        while len(hist) > 2 and hist[1][0] <= t - window:
            hist.popleft()
        t0, pv0 = hist[0]
        if t - t0 < window / 2:
            return None
        return (pv - pv0) / (t - t0) * 60.0

    def _account_soak(self, snap: OvenSnapshot, in_band: bool, after_gap: bool) -> None:
        """Guaranteed soak: an interval counts only if every zone was in band at both ends."""
        prev = self._prev
        if prev is None or after_gap or not (in_band and self._prev_in_band):
            return
        t0, t1 = prev.program_time_s, snap.program_time_s
        for acc in self.soaks.values():
            ws, we = self._windows[acc.segment]
            overlap = min(t1, we) - max(t0, ws)
            if overlap > 0:
                acc.counted_s += overlap

    def verdict_reasons(self, hold_on_excursion: bool) -> list[str]:
        """Why the run may not track out (empty: it may)."""
        reasons: list[str] = []
        if hold_on_excursion and self.excursions:
            reasons.append(excursion_reason(self.excursions))
        for acc in self.soaks.values():
            shortfall = acc.required_s - acc.counted_s
            if shortfall > self.recipe.completion.soak_shortfall_max_min * 60:
                reasons.append(
                    f"guaranteed soak (segment {acc.segment + 1}): {acc.counted_s / 60:.1f} of "
                    f"{acc.required_s / 60:.1f} min inside {acc.target_c:g} ± {acc.band_c:g} °C"
                )
        if self.last is not None:
            hottest = max((z for z in self.last.zones_c if not math.isnan(z)), default=math.nan)
            limit = self.recipe.completion.end_temp_max_c
            if not math.isnan(hottest) and hottest > limit:
                reasons.append(f"end temperature {hottest:.1f} °C above {limit:g} °C")
        return reasons

    def summary(self) -> dict[str, object]:
        return {
            "excursions": len(self.excursions),
            "soak_min": {
                str(a.segment + 1): round(a.counted_s / 60, 2) for a in self.soaks.values()
            },
            "program_time_s": round(self.last.program_time_s, 1) if self.last else None,
        }
