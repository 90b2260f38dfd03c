"""Cure of an epoxy molding compound (EMC): the simulators' truth for degree of cure and Tg.

The equations are DOMAIN.md's ("Molding press (MUF)"), in exactly that form:

    dα/dt = (k1 + k2·α^m)·(1 − α)^n · f_d(α, T)        Kamal–Sourour, autocatalytic
    ki    = Ai·exp(−Ei / (R·T))                          Arrhenius
    f_d   = 1 / (1 + exp(C·(α − (αc0 + αcT·T))))         diffusion control (vitrification)
    (Tg − Tg0)/(Tg∞ − Tg0) = λα / (1 − (1 − λ)α)         DiBenedetto

T is the absolute temperature in kelvin in *both* ki and f_d (one T for the
whole model); the API takes °C and converts with T = T_C + 273.15. Tg comes
out in °C. R = 8.314462618 J/(mol·K).

The kinetic set is DOMAIN.md's illustrative EMC. The diffusion and Tg
constants are those of the illustrative grade "emc-g700" that the MES engine
reads from recipes/materials/emc-g700.toml: the simulator models the same
material, so the engine's estimate and this truth agree when they integrate
the same temperatures. The values are written out here rather than read from
that file: the simulators stay independent of recipes/ and mes/ (an
import-linter contract), and a change to the shipped material must be made in
both places (docs/tools/molding-press.md, "EMC cure").

With these, f_d ≈ 1 while most of the in-mold cure runs (α ≈ 0.75 / 0.85
after 60 / 90 s at 175 °C and 0.59 after 120 s at 150 °C, as DOMAIN.md quotes
for the plain kinetics) and then closes: the critical degree of cure at
175 °C is αc = −0.46 + 0.003 × 448.15 = 0.884, so α reaches 0.888 after
120 s (0.900 without f_d; DOMAIN.md ≈ 0.90) and the cure stalls in the mold
(10 min: 0.927). Tg∞ (200 °C) lies above the cure temperature, and
Tg(α) = 175 °C at α ≈ 0.925: the compound vitrifies at 175 °C there, just
above αc. A post-mold cure at 175 °C after a 120 s mold lifts α from 0.888 to
≈ 0.959 in 4 h (1 h: 0.947, 8 h: 0.965). Without f_d the same kinetics reach
0.999 within the hour and post-mold cure would look pointless.

A pure model: no I/O, no state of its own; callers hold α.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

R_J_PER_MOL_K = 8.314462618  # molar gas constant (CODATA 2018, exact)
KELVIN_OFFSET = 273.15
MAX_STEP_S = 0.5  # longest RK4 sub-step: ≥ 40× shorter than the fastest cure time scale (≈ 20 s)
_EXP_LIMIT = 700.0  # exp() overflows past ~709; f_d is 0 to double precision long before


@dataclass(frozen=True, slots=True)
class EmcParams:
    """One EMC grade: cure kinetics, diffusion control and Tg(α). Illustrative values.

    Defaults: the illustrative grade "emc-g700" (the same numbers as
    recipes/materials/emc-g700.toml). Kinetics: DOMAIN.md's illustrative set.
    Diffusion: αc(T) = αc0 + αcT·T with T in K, so αc(150 °C) = 0.810,
    αc(175 °C) = 0.884, αc(200 °C) = 0.959. Tg: 20 °C uncured, 200 °C fully
    cured (Tg∞ above the 175 °C cure temperature), λ 0.5; Tg(α) = 175 °C at
    α ≈ 0.925, where the compound vitrifies during a 175 °C cure.
    """

    e1_j_per_mol: float = 80_000.0  # E1, activation energy of the n-th order path
    e2_j_per_mol: float = 65_000.0  # E2, activation energy of the autocatalytic path
    a1_per_s: float = 1.5e7  # A1
    a2_per_s: float = 2.68e6  # A2
    m: float = 0.8  # autocatalytic exponent
    n: float = 1.8  # reaction order
    c: float = 80.0  # C, steepness of the diffusion onset (dimensionless)
    alpha_c0: float = -0.46  # αc0, critical degree of cure at T = 0 K (extrapolated)
    alpha_ct_per_k: float = 0.003  # αcT, rise of the critical degree of cure per kelvin
    tg0_c: float = 20.0  # Tg of the uncured compound (α = 0)
    tg_inf_c: float = 200.0  # Tg of the fully cured compound (α = 1)
    lam: float = 0.5  # λ, DiBenedetto's ΔCp∞/ΔCp0


DEFAULT = EmcParams()


def _kelvin(temp_c: float) -> float:
    return temp_c + KELVIN_OFFSET


def rate_constants(params: EmcParams, temp_c: float) -> tuple[float, float]:
    """(k1, k2) in 1/s at `temp_c`: Arrhenius, ki = Ai·exp(−Ei/(R·T)), T in K."""
    t_k = _kelvin(temp_c)
    k1 = params.a1_per_s * math.exp(-params.e1_j_per_mol / (R_J_PER_MOL_K * t_k))
    k2 = params.a2_per_s * math.exp(-params.e2_j_per_mol / (R_J_PER_MOL_K * t_k))
    return k1, k2


def critical_alpha(params: EmcParams, temp_c: float) -> float:
    """αc(T) = αc0 + αcT·T (T in K): where the diffusion factor has fallen to 1/2."""
    return params.alpha_c0 + params.alpha_ct_per_k * _kelvin(temp_c)


def diffusion_factor(params: EmcParams, alpha: float, temp_c: float) -> float:
    """f_d = 1/(1 + exp(C·(α − αc(T)))): 1 while the resin is mobile, → 0 as it vitrifies."""
    x = params.c * (alpha - critical_alpha(params, temp_c))
    if x > _EXP_LIMIT:
        return 0.0
    return 1.0 / (1.0 + math.exp(x))


def cure_rate(params: EmcParams, alpha: float, temp_c: float) -> float:
    """dα/dt in 1/s at degree of cure `alpha` (clamped to [0, 1]) and `temp_c`."""
    a = min(max(alpha, 0.0), 1.0)
    k1, k2 = rate_constants(params, temp_c)
    kinetic = (k1 + k2 * math.pow(a, params.m)) * math.pow(1.0 - a, params.n)
    return kinetic * diffusion_factor(params, a, temp_c)


def step(params: EmcParams, alpha: float, temp_c: float, dt: float) -> float:
    """α after `dt` seconds at constant `temp_c`: classic RK4 in sub-steps of ≤ MAX_STEP_S.

    The rate is ≥ 0 and vanishes at α = 1, so α only rises; the clamp to
    [0, 1] guards the last sub-step against rounding past 1.
    """
    if dt <= 0.0:
        return alpha
    steps = max(1, math.ceil(dt / MAX_STEP_S))
    h = dt / steps
    a = min(max(alpha, 0.0), 1.0)
    for _ in range(steps):
        r1 = cure_rate(params, a, temp_c)
        r2 = cure_rate(params, a + 0.5 * h * r1, temp_c)
        r3 = cure_rate(params, a + 0.5 * h * r2, temp_c)
        r4 = cure_rate(params, a + h * r3, temp_c)
        a = min(max(a + h * (r1 + 2.0 * r2 + 2.0 * r3 + r4) / 6.0, a), 1.0)
    return a


def isothermal(params: EmcParams, temp_c: float, duration_s: float, alpha0: float = 0.0) -> float:
    """α after `duration_s` at a constant `temp_c`, starting from `alpha0`."""
    return step(params, alpha0, temp_c, duration_s)


def glass_transition_c(params: EmcParams, alpha: float) -> float:
    """Tg in °C at degree of cure `alpha` (DiBenedetto); rises from Tg0 at 0 to Tg∞ at 1."""
    a = min(max(alpha, 0.0), 1.0)
    lam = params.lam
    return params.tg0_c + (params.tg_inf_c - params.tg0_c) * lam * a / (1.0 - (1.0 - lam) * a)
