"""Degree of cure of an epoxy molding compound (EMC): the engine's estimate of α and Tg.

The model (DOMAIN.md, "Molding press (MUF)") is Kamal–Sourour autocatalytic
kinetics slowed by a diffusion factor as the resin vitrifies:

    dα/dt = (k1 + k2·α^m)·(1 − α)^n · f_d(α, T),   ki = Ai·exp(−Ei / (R·T))
    f_d   = 1 / (1 + exp(C·(α − αc(T)))),          αc(T) = αc0 + αcT·T

with T in kelvin in both places (Arrhenius needs absolute temperature, and the
critical conversion αc(T) is written on the same axis, as in the literature
where αc0 comes out negative). The glass transition follows DiBenedetto:

    (Tg − Tg0) / (Tg∞ − Tg0) = λα / (1 − (1 − λ)α)

Every parameter belongs to the material (an EMC grade or lot) and lives in a
material file (`recipes/materials/*.toml`), never in code.

Temperature histories are sampled unevenly (a Modbus poll, an OPC UA
subscription, a gap while a daemon restarts). Between two samples the
temperature is taken as linear in time, and α is integrated over each such
interval by classic RK4 with step doubling: the step adapts to the local
error, is capped so that α moves at most `MAX_DALPHA_PER_STEP` per step
(≈ 0.3 s at the peak rate of a 175 °C mold) and never exceeds `max_step_s`.
RK4's weights and the rate are non-negative, so α never decreases; it is
clamped below 1.

This module is the engine's estimate, written independently of the press
simulator's cure physics (DESIGN.md): a test that compares them means something.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, model_validator

from recipes.errors import show_value
from recipes.schema import Strict, rule_error

R_J_PER_MOL_K = 8.314462618  # molar gas constant (CODATA 2018)
KELVIN_OFFSET = 273.15  # T[K] = T[°C] + 273.15

ALPHA_MAX = 1.0 - 1e-12  # α is kept in [0, ALPHA_MAX]: full cure is approached, never reached
MAX_DALPHA_PER_STEP = 0.01  # an internal step moves α by at most this much
DEFAULT_MAX_GAP_S = 10.0  # an interval between samples longer than this is reported as a gap
DEFAULT_MAX_STEP_S = 30.0  # longest internal step, even where the rate is negligible
DEFAULT_STEP_TOLERANCE = 1e-9  # local error in α allowed per internal step
_MIN_STEP_S = 1e-9  # below this a step is taken regardless of the error estimate

_Rate = Callable[[float, float], float]  # dα/dt as a function of (time in the interval, α)


class EmcKinetics(Strict):
    """Cure kinetics and glass transition of one EMC grade (the `[kinetics]` table).

    Names carry units; T in the diffusion factor is in kelvin (see the module docstring).
    """

    a1_per_s: Annotated[float, Field(gt=0, le=1e30, description="A1, 1/s")]
    e1_j_per_mol: Annotated[float, Field(ge=0, le=500e3, description="E1, J/mol")]
    a2_per_s: Annotated[float, Field(ge=0, le=1e30, description="A2, 1/s; 0 = no autocatalysis")]
    e2_j_per_mol: Annotated[float, Field(ge=0, le=500e3, description="E2, J/mol")]
    m: Annotated[float, Field(ge=0, le=5, description="autocatalytic exponent")]
    n: Annotated[float, Field(gt=0, le=5, description="reaction order")]
    c: Annotated[float, Field(gt=0, le=1000, description="diffusion constant C")]
    alpha_c0: Annotated[float, Field(ge=-10, le=10, description="critical conversion at T = 0 K")]
    alpha_ct_per_k: Annotated[
        float, Field(ge=0, le=0.1, description="rise of the critical conversion, 1/K")
    ]
    tg0_c: Annotated[float, Field(ge=-150, le=300, description="Tg of uncured EMC, °C")]
    tg_inf_c: Annotated[float, Field(ge=-150, le=400, description="Tg of fully cured EMC, °C")]
    tg_lambda: Annotated[float, Field(gt=0, le=1, description="DiBenedetto λ = ΔCp∞ / ΔCp0")]

    @model_validator(mode="after")
    def _tg_rises_with_cure(self) -> EmcKinetics:
        if self.tg_inf_c <= self.tg0_c:
            expect = f"must be > {show_value(self.tg0_c)} (tg0_c: curing raises Tg)"
            raise rule_error([{"path": "tg_inf_c", "value": self.tg_inf_c, "expect": expect}])
        return self


def rate_constants(temp_c: float, k: EmcKinetics) -> tuple[float, float]:
    """(k1, k2) in 1/s at `temp_c` (Arrhenius)."""
    rt = R_J_PER_MOL_K * _kelvin(temp_c)
    return k.a1_per_s * math.exp(-k.e1_j_per_mol / rt), k.a2_per_s * math.exp(-k.e2_j_per_mol / rt)


def critical_alpha(temp_c: float, k: EmcKinetics) -> float:
    """αc(T) = αc0 + αcT·T[K]: the conversion around which diffusion takes over."""
    return k.alpha_c0 + k.alpha_ct_per_k * _kelvin(temp_c)


def diffusion_factor(alpha: float, temp_c: float, k: EmcKinetics) -> float:
    """f_d in (0, 1]: ≈ 1 well below αc(T), 1/2 at αc(T), → 0 above it."""
    return _logistic(k.c * (alpha - critical_alpha(temp_c, k)))


def rate(alpha: float, temp_c: float, k: EmcKinetics) -> float:
    """dα/dt in 1/s at degree of cure `alpha` and temperature `temp_c` (°C); never negative.

    `alpha` outside [0, 1] is clamped into it (a Runge–Kutta stage may overshoot).
    """
    k1, k2 = rate_constants(temp_c, k)
    return _rate(min(max(alpha, 0.0), 1.0), k1, k2, k.m, k.n, k.c, critical_alpha(temp_c, k))


def tg_c(alpha: float, k: EmcKinetics) -> float:
    """Glass transition temperature in °C at degree of cure `alpha` (DiBenedetto).

    Tg(0) = tg0_c, Tg(1) = tg_inf_c, monotone in between; `alpha` is clamped to [0, 1].
    """
    a = min(max(alpha, 0.0), 1.0)
    lam = k.tg_lambda
    return k.tg0_c + (k.tg_inf_c - k.tg0_c) * lam * a / (1.0 - (1.0 - lam) * a)


@dataclass(frozen=True, slots=True)
class Gap:
    """Two consecutive samples further apart than `max_gap_s`; α was still integrated
    across the gap, assuming the temperature changed linearly between them."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class CureResult:
    """What a temperature history did to the EMC.

    `time_above_tg_s`: time during which the temperature was above Tg(α), i.e.
    the compound was rubbery (still curing at the chemical rate) rather than
    glassy. `gaps`: intervals longer than `max_gap_s`, integrated anyway.
    """

    alpha0: float
    alpha: float
    tg_c: float
    time_above_tg_s: float
    start_s: float
    end_s: float
    samples: int
    gaps: tuple[Gap, ...]

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


MIN_INTERVAL_S = 1e-6  # below this two samples are the same instant (the slope would overflow)


class CureState:
    """Degree of cure integrated sample by sample, as the engine receives them.

    The first `advance` sets the start time and temperature; each later one
    integrates from the previous sample, the temperature linear in between.
    Samples must come in time order; a repeated time replaces the temperature
    (a step). Non-finite values raise `ValueError`: the caller drops a bad
    sample, and the hole it leaves shows up as a gap.
    """

    def __init__(
        self,
        kinetics: EmcKinetics,
        alpha0: float = 0.0,
        *,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        max_step_s: float = DEFAULT_MAX_STEP_S,
        tolerance: float = DEFAULT_STEP_TOLERANCE,
    ) -> None:
        if not 0.0 <= alpha0 < 1.0:
            raise ValueError(f"alpha0 must be in [0, 1), got {alpha0}")
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s must be > 0, got {max_gap_s}")
        if not (max_step_s > 0 and math.isfinite(max_step_s)):
            raise ValueError(f"max_step_s must be a finite number > 0, got {max_step_s}")
        if not (tolerance > 0 and math.isfinite(tolerance)):
            raise ValueError(f"tolerance must be a finite number > 0, got {tolerance}")
        self.kinetics = kinetics
        self.alpha0 = min(alpha0, ALPHA_MAX)
        self.max_gap_s = max_gap_s
        self._max_step = max_step_s
        self._tol = tolerance
        self._alpha = self.alpha0
        self._above_tg = 0.0
        self._start: float | None = None
        self._t: float | None = None
        self._temp: float | None = None
        self._samples = 0
        self._gaps: list[Gap] = []
        self._h = min(1.0, max_step_s)  # the step to try next; carried between intervals

    @property
    def alpha(self) -> float:
        """Degree of cure at the last sample."""
        return self._alpha

    @property
    def tg_c(self) -> float:
        """Tg(α) in °C at the last sample."""
        return tg_c(self._alpha, self.kinetics)

    @property
    def time_above_tg_s(self) -> float:
        """Seconds so far during which the temperature was above Tg(α)."""
        return self._above_tg

    @property
    def last_t_s(self) -> float | None:
        """Time of the last sample (None before the first)."""
        return self._t

    @property
    def last_temp_c(self) -> float | None:
        """Temperature of the last sample (None before the first)."""
        return self._temp

    @property
    def gaps(self) -> tuple[Gap, ...]:
        return tuple(self._gaps)

    def advance(self, t_s: float, temp_c: float) -> float:
        """Take the sample (t_s, temp_c) and return α at t_s."""
        if not math.isfinite(t_s):
            raise ValueError(f"t_s must be a finite number, got {t_s}")
        _kelvin(temp_c)  # validates
        if self._t is None or self._temp is None:
            self._start = self._t = t_s
        elif t_s < self._t:
            raise ValueError(f"samples must come in time order: t_s = {t_s} < {self._t}")
        elif t_s - self._t > MIN_INTERVAL_S:  # closer samples are one instant: a step in T
            dt = t_s - self._t
            if dt > self.max_gap_s:
                self._gaps.append(Gap(self._t, t_s))
            self._integrate(dt, self._temp, temp_c)
            self._t = t_s
        self._temp = temp_c
        self._samples += 1
        return self._alpha

    def result(self) -> CureResult:
        """The state so far as a `CureResult` (needs at least one sample)."""
        if self._start is None or self._t is None:
            raise ValueError("no samples yet")
        return CureResult(
            alpha0=self.alpha0,
            alpha=self._alpha,
            tg_c=self.tg_c,
            time_above_tg_s=self._above_tg,
            start_s=self._start,
            end_s=self._t,
            samples=self._samples,
            gaps=tuple(self._gaps),
        )

    def _integrate(self, dt: float, temp0_c: float, temp1_c: float) -> None:
        """Advance α over `dt` seconds while the temperature goes linearly temp0 → temp1."""
        k = self.kinetics
        a1, a2, m, n, c = k.a1_per_s, k.a2_per_s, k.m, k.n, k.c
        e1_r, e2_r = k.e1_j_per_mol / R_J_PER_MOL_K, k.e2_j_per_mol / R_J_PER_MOL_K
        ac0, act = k.alpha_c0, k.alpha_ct_per_k
        kelvin0 = temp0_c + KELVIN_OFFSET
        slope = (temp1_c - temp0_c) / dt
        lam, tg0, dtg = k.tg_lambda, k.tg0_c, k.tg_inf_c - k.tg0_c

        def f(tau: float, a: float) -> float:
            # rate() with the interval's constants hoisted; the temperature is linear in tau.
            kelvin = kelvin0 + slope * tau
            k1, k2 = a1 * math.exp(-e1_r / kelvin), a2 * math.exp(-e2_r / kelvin)
            return _rate(min(a, 1.0), k1, k2, m, n, c, ac0 + act * kelvin)

        def tg(a: float) -> float:
            return tg0 + dtg * lam * a / (1.0 - (1.0 - lam) * a)

        # h_try: the step the error controller proposes; h: the step taken, which
        # may be shorter (the end of the interval, the per-step cap on Δα).
        tau, a, h_try = 0.0, self._alpha, self._h
        while tau < dt:
            r0 = f(tau, a)
            h = min(h_try, self._max_step, dt - tau)
            if r0 > 0:
                h = min(h, MAX_DALPHA_PER_STEP / r0)
            shortened = h < h_try
            while True:
                full = _rk4_step(f, tau, a, h, r0)
                half = _rk4_step(f, tau, a, h / 2, r0)
                fine = _rk4_step(f, tau + h / 2, half, h / 2, f(tau + h / 2, half))
                err = abs(fine - full) / 15.0  # Richardson estimate of the local error
                if err <= self._tol or h <= _MIN_STEP_S:
                    break
                h *= max(0.2, 0.9 * math.pow(self._tol / err, 0.2))
            a_new = min(max(fine, a), ALPHA_MAX)
            # Time above Tg over the step: T − Tg(α) is taken as linear across it.
            d0 = temp0_c + slope * tau - tg(a)
            d1 = temp0_c + slope * (tau + h) - tg(a_new)
            if d0 > 0 and d1 > 0:
                self._above_tg += h
            elif d0 > 0 or d1 > 0:
                self._above_tg += h * max(d0, d1) / (abs(d0) + abs(d1))
            tau, a = tau + h, a_new
            # Next proposal from the error estimate (local error ~ h^5: exponent 1/5);
            # a step cut short by a cap does not shrink the proposal.
            grow = 4.0 if err == 0 else min(4.0, max(0.2, 0.9 * math.pow(self._tol / err, 0.2)))
            h_try = max(h * grow, h_try) if shortened else h * grow
            if dt - tau < 1e-12 * max(1.0, dt):
                break
        self._alpha = a
        self._h = max(h_try, _MIN_STEP_S)


def integrate(
    history: Iterable[tuple[float, float]],
    alpha0: float,
    k: EmcKinetics,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> CureResult:
    """Integrate α over a temperature history of (t_s, temp_c) samples, in time order.

    Samples may be unevenly spaced; the temperature is linear between them.
    Intervals longer than `max_gap_s` are integrated the same way and listed
    in `CureResult.gaps`, so the caller can record (or refuse) them. Equal to
    feeding the samples one by one to a `CureState`.
    """
    state = CureState(k, alpha0, max_gap_s=max_gap_s)
    for t_s, temp_c in history:
        state.advance(t_s, temp_c)
    if state.last_t_s is None:
        raise ValueError("the temperature history is empty")
    return state.result()


def isothermal_alpha(
    temp_c: float, duration_s: float, k: EmcKinetics, alpha0: float = 0.0
) -> float:
    """α after `duration_s` at constant `temp_c`, from `alpha0`."""
    if not (duration_s >= 0 and math.isfinite(duration_s)):
        raise ValueError(f"duration_s must be a finite number >= 0, got {duration_s}")
    return integrate([(0.0, temp_c), (duration_s, temp_c)], alpha0, k, max_gap_s=math.inf).alpha


def _kelvin(temp_c: float) -> float:
    kelvin = temp_c + KELVIN_OFFSET
    if not (kelvin > 0 and math.isfinite(kelvin)):
        raise ValueError(f"temperature must be a finite number above -273.15 °C, got {temp_c}")
    return kelvin


def _logistic(x: float) -> float:
    """1 / (1 + e^x), without overflow."""
    if x > 700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(x))


def _rate(a: float, k1: float, k2: float, m: float, n: float, c: float, alpha_c: float) -> float:
    """dα/dt for α already in [0, 1]."""
    if a >= 1.0:
        return 0.0
    return (k1 + k2 * math.pow(a, m)) * math.pow(1.0 - a, n) * _logistic(c * (a - alpha_c))


def _rk4_step(f: _Rate, t: float, a: float, h: float, k1: float) -> float:
    """One classic RK4 step of size h from (t, a), given k1 = f(t, a)."""
    k2 = f(t + h / 2, a + h / 2 * k1)
    k3 = f(t + h / 2, a + h / 2 * k2)
    k4 = f(t + h, a + h * k3)
    return a + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
