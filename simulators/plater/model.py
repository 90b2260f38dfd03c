"""Physics of a Cu plating tool: one rectifier per cell, Faraday's law, the shared bath.

Pure functions and frozen data; no I/O. `read_*` add measurement noise from
a caller-owned seeded RNG. Numbers are *illustrative* in the sense of
DOMAIN.md ("Plating tool (Cu RDL)"): plausible for a 300 mm RDL plater.

Faraday (Cu²⁺ + 2e⁻ → Cu): h = η · Q/(z·F) · M/ρ / A. With M = 63.546 g/mol,
ρ = 8.96 g/cm³, z = 2, F = 96485 C/mol this is 0.2205 µm per A·min/dm²
(2 A/dm² × 10 min → 4.41 µm at η = 1, 3.93 µm at η = 0.89, DOMAIN.md's
example). The "0.227" rule of thumb is 3 % higher than these constants give.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

FARADAY_C_PER_MOL = 96485.332
CU_MOLAR_MASS_G_PER_MOL = 63.546
CU_DENSITY_G_PER_CM3 = 8.96
CU_ELECTRONS = 2
CM2_PER_DM2 = 100.0
UM_PER_CM = 1e4
# µm of Cu per (A/dm²)·min at η = 1: 60 C / (zF) · M/ρ / 100 cm² · 1e4 µm/cm ≈ 0.2205.
UM_PER_ASD_MIN = (
    60.0
    / (CU_ELECTRONS * FARADAY_C_PER_MOL)
    * CU_MOLAR_MASS_G_PER_MOL
    / CU_DENSITY_G_PER_CM3
    / CM2_PER_DM2
    * UM_PER_CM
)

WAFER_DIAMETER_MM = 300.0
WAFER_AREA_DM2 = math.pi * (WAFER_DIAMETER_MM / 200.0) ** 2  # 7.07 dm²


def thickness_um(charge_c: float, eta: float, area_dm2: float) -> float:
    """Plated Cu thickness (µm) from the charge through the wafer (C) at efficiency η."""
    if area_dm2 <= 0:
        raise ValueError(f"area_dm2 must be > 0, got {area_dm2}")
    moles_cu = eta * charge_c / (CU_ELECTRONS * FARADAY_C_PER_MOL)
    volume_cm3 = moles_cu * CU_MOLAR_MASS_G_PER_MOL / CU_DENSITY_G_PER_CM3
    return volume_cm3 / (area_dm2 * CM2_PER_DM2) * UM_PER_CM


@dataclass(frozen=True, slots=True)
class PlaterParams:
    """Everything that makes this plater this plater."""

    # Plated (open) area per wafer: 300 mm wafer × 40 % open resist area = 2.83 dm².
    # At 2 A/dm² a cell then runs 5.65 A.
    open_area_share: float = 0.40
    wafer_area_dm2: float = WAFER_AREA_DM2
    # Rectifier: first-order lag of the delivered current behind the set-point.
    rectifier_tau_s: float = 0.5
    current_noise_a: float = 0.002  # σ of the measured current: this + a share of it
    current_noise_share: float = 0.001
    # Cell voltage = I·R + overpotential (while current flows).
    cell_resistance_ohm: float = 0.3
    overpotential_v: float = 0.1
    compliance_v: float = 40.0  # the rectifier's voltage limit (open contact drives it here)
    voltage_noise_v: float = 0.005
    # Contact failure: the share of the rectifier's current that still reaches the wafer.
    contact_share: float = 0.02
    # Current efficiency η = η0 − k·AmpHours, bounded below: 0.95 → 0.85 over 2000 A·h.
    eta0: float = 0.95
    eta_drift_per_ah: float = 5e-5
    eta_min: float = 0.85
    # Bath: temperature loop (first order toward its target), agitation.
    bath_setpoint_c: float = 22.0
    bath_overtemp_c: float = 35.0  # where the bath heads when its chiller fails
    bath_tau_s: float = 60.0
    bath_alarm_c: float = 28.0  # ALARM_BATH_OVERTEMP above this
    bath_alarm_clear_c: float = 26.0  # and off again below this
    bath_noise_c: float = 0.05
    agitation_rpm: float = 60.0
    agitation_noise_rpm: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.open_area_share <= 1:
            raise ValueError(f"open_area_share must be in (0, 1], got {self.open_area_share}")
        if self.wafer_area_dm2 <= 0 or self.rectifier_tau_s <= 0 or self.bath_tau_s <= 0:
            raise ValueError("wafer_area_dm2, rectifier_tau_s and bath_tau_s must be > 0")
        if not 0 < self.eta_min <= self.eta0 <= 1:
            raise ValueError("need 0 < eta_min <= eta0 <= 1")

    @property
    def plated_area_dm2(self) -> float:
        """Area the current plates on one wafer (dm²)."""
        return self.wafer_area_dm2 * self.open_area_share


def efficiency(params: PlaterParams, amp_hours: float) -> float:
    """Current efficiency η of a bath that has passed `amp_hours` A·h."""
    return max(params.eta_min, params.eta0 - params.eta_drift_per_ah * max(0.0, amp_hours))


def ramped_setpoint(previous_a: float, target_a: float, ramp_s: float, step_time_s: float) -> float:
    """Set-point `step_time_s` into a step ramping linearly from `previous_a` over `ramp_s`."""
    if ramp_s <= 0 or step_time_s >= ramp_s:
        return target_a
    return previous_a + (target_a - previous_a) * max(0.0, step_time_s) / ramp_s


def lag(value: float, target: float, tau_s: float, dt: float) -> float:
    """First-order response: `value` after `dt` heading for `target` (exact for a held target)."""
    return target + (value - target) * math.exp(-dt / tau_s)


def cell_voltage(params: PlaterParams, current_a: float, *, open_contact: bool) -> float:
    """True cell voltage: I·R + overpotential; an open contact drives it to compliance."""
    if current_a <= 1e-9:
        return 0.0
    if open_contact:
        return params.compliance_v
    return min(params.compliance_v, current_a * params.cell_resistance_ohm + params.overpotential_v)


def measure_current(params: PlaterParams, true_a: float, rng: random.Random) -> float:
    if true_a <= 1e-9:
        return 0.0
    sigma = params.current_noise_a + params.current_noise_share * true_a
    return max(0.0, true_a + rng.gauss(0.0, sigma))


def measure_voltage(params: PlaterParams, true_v: float, rng: random.Random) -> float:
    if true_v <= 0:
        return 0.0
    return max(0.0, true_v + rng.gauss(0.0, params.voltage_noise_v))
