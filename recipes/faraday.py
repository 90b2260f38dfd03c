"""Copper thickness from charge: the plating tool's process model (DOMAIN.md, "Plating tool").

Faraday's law for Cu²⁺ + 2 e⁻ → Cu: a charge Q deposits Q·η / (z·F) mol of
copper, whose volume spread over the plated area A is a thickness

    h = Q · η · M / (z · F · ρ · A)

with M = 63.546 g/mol, ρ = 8.96 g/cm³, z = 2, F = 96485.33 C/mol and η the
current efficiency (the fraction of the charge that deposits copper; the rest
goes to side reactions such as hydrogen evolution).

At a current density J [A/dm²] for t [min] this is h[µm] = k·J·t·η with
k = 60·M·10⁴ / (z·F·ρ·100) = 0.2205… µm per A/dm²·min (`UM_PER_ASD_MIN`).
DOMAIN.md writes 0.227: a rounded shop-floor constant, about 3 % higher than
the physics. This module computes from the physical constants; DOMAIN's
worked example (2 A/dm² for 10 min → 4.4 µm theoretical) agrees with it
(4.41 µm), not with 0.227 (4.54 µm).

Thickness is integrated from the *measured* current (`ChargeIntegrator`), not
assumed from the set-point, and η is learned from metrology as a bounded
moving average of measured / theoretical thickness (`update_eta`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # plating.py imports this module for its target check
    from recipes.plating import PlatingRecipe

FARADAY_C_PER_MOL = 96485.33212  # F (CODATA 2018: 96485.33212…)
CU_MOLAR_MASS_G_PER_MOL = 63.546  # M of copper
CU_DENSITY_G_PER_CM3 = 8.96  # ρ of electroplated copper (bulk value)
CU_ELECTRONS = 2  # Cu²⁺ + 2 e⁻ → Cu
CM2_PER_DM2 = 100.0
UM_PER_CM = 1e4

# µm of copper per (A/dm²)·min at η = 1, from the constants above: 0.22052.
UM_PER_ASD_MIN = (
    60.0
    * CU_MOLAR_MASS_G_PER_MOL
    * UM_PER_CM
    / (CU_ELECTRONS * FARADAY_C_PER_MOL * CU_DENSITY_G_PER_CM3 * CM2_PER_DM2)
)
# DOMAIN.md's rounded constant, kept only for comparison: it is ~2.9 % above
# UM_PER_ASD_MIN. Nothing in the engine computes with it.
DOMAIN_UM_PER_ASD_MIN = 0.227

DEFAULT_MAX_GAP_S = 5.0  # an interval between current samples longer than this is a gap
# Tool time (s) of a wafer's current that may be bridged without confirmation from the
# current measured at both ends of the holes: beyond it the charge is an estimate, the wafer
# needs metrology, and its record does not teach η.
MAX_UNVERIFIED_S = 60.0


def _positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")


def _efficiency(eta: float) -> None:
    if not (0 < eta <= 1):
        raise ValueError(f"eta must be in (0, 1], got {eta}")


def thickness_um(charge_c: float, area_dm2: float, eta: float = 1.0) -> float:
    """Cu thickness in µm deposited by `charge_c` coulombs on `area_dm2` at efficiency `eta`."""
    if not math.isfinite(charge_c):
        raise ValueError(f"charge_c must be a finite number, got {charge_c}")
    _positive("area_dm2", area_dm2)
    _efficiency(eta)
    volume_cm3 = (
        charge_c
        * eta
        * CU_MOLAR_MASS_G_PER_MOL
        / (CU_ELECTRONS * FARADAY_C_PER_MOL * CU_DENSITY_G_PER_CM3)
    )
    return volume_cm3 / (area_dm2 * CM2_PER_DM2) * UM_PER_CM


def charge_for_thickness(thickness_um: float, area_dm2: float, eta: float = 1.0) -> float:
    """Coulombs needed to deposit `thickness_um` µm on `area_dm2` at efficiency `eta`."""
    if not math.isfinite(thickness_um):
        raise ValueError(f"thickness_um must be a finite number, got {thickness_um}")
    _positive("area_dm2", area_dm2)
    _efficiency(eta)
    volume_cm3 = thickness_um / UM_PER_CM * area_dm2 * CM2_PER_DM2
    return (
        volume_cm3
        * CU_ELECTRONS
        * FARADAY_C_PER_MOL
        * CU_DENSITY_G_PER_CM3
        / (CU_MOLAR_MASS_G_PER_MOL * eta)
    )


def current_a(density_asd: float, area_dm2: float) -> float:
    """Rectifier current in A for a current density `density_asd` (A/dm²) on `area_dm2`."""
    if not math.isfinite(density_asd):
        raise ValueError(f"density_asd must be a finite number, got {density_asd}")
    _positive("area_dm2", area_dm2)
    return density_asd * area_dm2


# --- the programmed profile ------------------------------------------------------------
#
# Step i lasts duration_s; during its first ramp_s seconds the set-point goes
# linearly from the previous step's density (0 before the first step) to its
# own, then holds it. ramp_s is part of duration_s (the schema checks ≤).


def programmed_duration_s(recipe: PlatingRecipe) -> float:
    """Total program time in s (the steps' durations, ramps included)."""
    return sum(step.duration_s for step in recipe.steps)


def programmed_density_asd(recipe: PlatingRecipe, t_s: float) -> float:
    """Set-point current density (A/dm²) at `t_s` s from the start; 0 outside the program."""
    t0, previous = 0.0, 0.0
    for step in recipe.steps:
        t1 = t0 + step.duration_s
        if t0 <= t_s < t1:
            into = t_s - t0
            if into < step.ramp_s:
                return previous + (step.current_density_asd - previous) * into / step.ramp_s
            return step.current_density_asd
        t0, previous = t1, step.current_density_asd
    return 0.0


def programmed_current_a(recipe: PlatingRecipe, t_s: float) -> float:
    """Set-point current (A) at `t_s`: the programmed density times the plated area."""
    return current_a(programmed_density_asd(recipe, t_s), recipe.wafer.plated_area_dm2)


def programmed_charge_c(recipe: PlatingRecipe) -> float:
    """Charge in C the programmed profile passes (ramps integrated exactly: they are linear)."""
    asd_s, previous = 0.0, 0.0
    for step in recipe.steps:
        ramp = step.ramp_s
        asd_s += (previous + step.current_density_asd) / 2 * ramp
        asd_s += step.current_density_asd * (step.duration_s - ramp)
        previous = step.current_density_asd
    return asd_s * recipe.wafer.plated_area_dm2


def expected_thickness_um(recipe: PlatingRecipe, eta: float | None = None) -> float:
    """Thickness in µm the programmed profile deposits at `eta` (default: the recipe's η)."""
    e = recipe.efficiency.eta if eta is None else eta
    return thickness_um(programmed_charge_c(recipe), recipe.wafer.plated_area_dm2, e)


# --- measured current ------------------------------------------------------------------


# Charge (C) across a hole between samples (t0, i0) and (t1, i1), from a model of the
# current in between (the programmed profile, say); without one the current is linear.
Bridge = Callable[[float, float, float, float], float]


@dataclass(frozen=True, slots=True)
class Gap:
    """Two consecutive current samples further apart than `max_gap_s`; the charge was
    still integrated across the gap: by the integrator's bridge, else assuming the current
    changed linearly between them."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class ChargeIntegrator:
    """Charge integrated from measured current, sample by sample, as the engine receives them.

    Trapezoidal rule over unevenly spaced samples (the current is taken as
    linear between two samples; across a gap, `bridge` may model it instead).
    The first `advance` sets the start; samples
    must come in time order; a repeated time replaces the current (a step).
    Non-finite values raise `ValueError`: the caller drops a bad sample, and
    the hole it leaves shows up as a gap. The current is signed (a reverse
    pulse removes copper).
    """

    def __init__(
        self, *, max_gap_s: float = DEFAULT_MAX_GAP_S, bridge: Bridge | None = None
    ) -> None:
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s must be > 0, got {max_gap_s}")
        self.max_gap_s = max_gap_s
        self.bridge = bridge
        self._charge = 0.0
        self._start: float | None = None
        self._t: float | None = None
        self._current: float | None = None
        self._samples = 0
        self._gaps: list[Gap] = []

    @property
    def charge_c(self) -> float:
        """Coulombs passed from the first sample to the last."""
        return self._charge

    @property
    def amp_hours(self) -> float:
        """The charge in A·h (how bath life is tracked)."""
        return self._charge / 3600.0

    @property
    def gaps(self) -> tuple[Gap, ...]:
        return tuple(self._gaps)

    @property
    def samples(self) -> int:
        return self._samples

    @property
    def start_s(self) -> float | None:
        return self._start

    @property
    def last_t_s(self) -> float | None:
        return self._t

    @property
    def last_current_a(self) -> float | None:
        return self._current

    @property
    def duration_s(self) -> float:
        """Time from the first sample to the last (0 before two samples)."""
        if self._start is None or self._t is None:
            return 0.0
        return self._t - self._start

    def advance(self, t_s: float, current_a: float) -> float:
        """Take the sample (t_s, current_a) and return the charge in C up to t_s."""
        if not math.isfinite(t_s):
            raise ValueError(f"t_s must be a finite number, got {t_s}")
        if not math.isfinite(current_a):
            raise ValueError(f"current_a must be a finite number, got {current_a}")
        if self._t is None or self._current is None:
            self._start = self._t = t_s
        elif t_s < self._t:
            raise ValueError(f"samples must come in time order: t_s = {t_s} < {self._t}")
        elif t_s > self._t:
            dt = t_s - self._t
            step_c = (self._current + current_a) / 2 * dt
            if dt > self.max_gap_s:
                self._gaps.append(Gap(self._t, t_s))
                if self.bridge is not None:
                    step_c = self.bridge(self._t, self._current, t_s, current_a)
            self._charge += step_c
            self._t = t_s
        self._current = current_a
        self._samples += 1
        return self._charge

    def thickness_um(self, area_dm2: float, eta: float = 1.0) -> float:
        """Thickness the charge so far deposits on `area_dm2` at `eta`."""
        return thickness_um(self._charge, area_dm2, eta)


# --- learning η from metrology ---------------------------------------------------------


def efficiency_ratio(measured_um: float, theoretical_um_at_eta1: float) -> float:
    """One metrology result as an efficiency: measured / theoretical (η = 1) thickness."""
    if not (measured_um >= 0 and math.isfinite(measured_um)):
        raise ValueError(f"measured_um must be a finite number >= 0, got {measured_um}")
    _positive("theoretical_um_at_eta1", theoretical_um_at_eta1)
    return measured_um / theoretical_um_at_eta1


def update_eta(
    history: Sequence[float],
    measured_um: float,
    theoretical_um_at_eta1: float,
    window: int,
    eta_min: float,
    eta_max: float,
) -> float:
    """The learned η after a new metrology result, bounded to [eta_min, eta_max].

    `history` holds the earlier results' ratios (measured / theoretical at
    η = 1, see `efficiency_ratio`), oldest first. The new ratio is appended and
    the last `window` ratios are averaged; the mean is then clamped, so a bad
    measurement cannot drive the model outside the recipe's bounds. The caller
    stores `efficiency_ratio(measured_um, theoretical_um_at_eta1)` in the history.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if not (0 < eta_min <= eta_max <= 1):
        raise ValueError(f"need 0 < eta_min <= eta_max <= 1, got {eta_min}, {eta_max}")
    for i, r in enumerate(history):
        if not (r >= 0 and math.isfinite(r)):
            raise ValueError(f"history[{i}] must be a finite number >= 0, got {r}")
    ratios = [*history, efficiency_ratio(measured_um, theoretical_um_at_eta1)][-window:]
    mean = math.fsum(ratios) / len(ratios)
    return min(max(mean, eta_min), eta_max)
