"""EMC cure kinetics: rate, Tg, and α integrated over unevenly sampled temperature histories."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recipes.cure import (
    ALPHA_MAX,
    KELVIN_OFFSET,
    R_J_PER_MOL_K,
    CureState,
    EmcKinetics,
    Gap,
    critical_alpha,
    diffusion_factor,
    integrate,
    isothermal_alpha,
    rate,
    rate_constants,
    tg_c,
)
from recipes.loader import library_path, load_oven_recipe
from recipes.materials import load_material, material_path
from recipes.profile import expand

EMC = load_material(material_path("emc-g700")).kinetics
HYPO = settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])


def kinetics(**changes: Any) -> EmcKinetics:
    """The shipped EMC's kinetics with `changes` applied (validated)."""
    return EmcKinetics.model_validate({**EMC.model_dump(), **changes})


def no_diffusion(**changes: Any) -> EmcKinetics:
    """Kinetics whose diffusion factor is 1 to double precision: αc far above any α.

    With C = 80 and αc ≥ 10, f_d = 1 / (1 + e^(80·(α − αc))) ≥ 1 / (1 + e^-720) = 1.
    """
    return kinetics(alpha_c0=10.0, alpha_ct_per_k=0.0, **changes)


def uniform(t_end: float, dt: float, temp: Any) -> list[tuple[float, float]]:
    n = round(t_end / dt)
    return [(i * t_end / n, temp(i * t_end / n)) for i in range(n + 1)]


class TestRate:
    def test_rate_is_domain_kamal_sourour_with_diffusion(self) -> None:
        """rate() is (k1 + k2·α^m)(1−α)^n·f_d with Arrhenius ki and the logistic f_d, T in K."""
        alpha, temp_c = 0.6, 160.0
        kelvin = temp_c + 273.15
        k1 = 1.5e7 * math.exp(-80e3 / (R_J_PER_MOL_K * kelvin))
        k2 = 2.68e6 * math.exp(-65e3 / (R_J_PER_MOL_K * kelvin))
        alpha_c = EMC.alpha_c0 + EMC.alpha_ct_per_k * kelvin
        f_d = 1 / (1 + math.exp(EMC.c * (alpha - alpha_c)))
        expected = (k1 + k2 * alpha**0.8) * (1 - alpha) ** 1.8 * f_d
        assert rate(alpha, temp_c, EMC) == pytest.approx(expected, rel=1e-12)
        assert rate_constants(temp_c, EMC) == pytest.approx((k1, k2), rel=1e-12)

    def test_diffusion_factor_is_one_half_at_the_critical_conversion(self) -> None:
        """f_d = 1/2 at αc(T), ≈ 1 well below it, ≈ 0 well above it."""
        alpha_c = critical_alpha(175.0, EMC)
        assert alpha_c == pytest.approx(-0.46 + 0.003 * 448.15)
        assert diffusion_factor(alpha_c, 175.0, EMC) == pytest.approx(0.5)
        assert diffusion_factor(alpha_c - 0.2, 175.0, EMC) > 0.9999
        assert diffusion_factor(alpha_c + 0.2, 175.0, EMC) < 1e-6

    def test_rate_is_never_negative_and_zero_at_full_cure(self) -> None:
        """At α = 1 (or an overshoot past it) the rate is 0; below, it is positive."""
        assert rate(1.0, 175.0, EMC) == 0.0
        assert rate(1.2, 175.0, EMC) == 0.0
        assert rate(0.0, 175.0, EMC) > 0.0
        assert rate(-0.1, 175.0, EMC) == rate(0.0, 175.0, EMC)

    def test_rate_rises_with_temperature(self) -> None:
        """Arrhenius: a hotter mold cures faster at the same α (below the diffusion knee)."""
        assert rate(0.3, 150.0, EMC) < rate(0.3, 175.0, EMC) < rate(0.3, 180.0, EMC)

    @pytest.mark.parametrize("temp", [math.nan, math.inf, -273.15, -300.0])
    def test_impossible_temperatures_are_refused(self, temp: float) -> None:
        """NaN, infinity and temperatures at or below absolute zero raise ValueError."""
        with pytest.raises(ValueError, match=r"above -273\.15 °C"):
            rate(0.5, temp, EMC)


class TestTg:
    def test_tg_spans_tg0_to_tg_inf(self) -> None:
        """DiBenedetto: Tg(0) = Tg0, Tg(1) = Tg∞."""
        assert tg_c(0.0, EMC) == EMC.tg0_c
        assert tg_c(1.0, EMC) == pytest.approx(EMC.tg_inf_c)

    def test_tg_follows_dibenedetto_in_between(self) -> None:
        """(Tg − Tg0)/(Tg∞ − Tg0) = λα / (1 − (1 − λ)α) at an interior α."""
        a, lam = 0.7, EMC.tg_lambda
        x = (tg_c(a, EMC) - EMC.tg0_c) / (EMC.tg_inf_c - EMC.tg0_c)
        assert x == pytest.approx(lam * a / (1 - (1 - lam) * a))

    def test_lambda_one_is_linear(self) -> None:
        """With λ = 1, Tg is linear in α."""
        k = kinetics(tg_lambda=1.0)
        assert tg_c(0.25, k) == pytest.approx(EMC.tg0_c + 0.25 * (EMC.tg_inf_c - EMC.tg0_c))

    @given(st.floats(0, 1), st.floats(0, 1))
    def test_tg_is_monotone_in_alpha(self, a: float, b: float) -> None:
        """More cure never lowers Tg."""
        lo, hi = sorted((a, b))
        assert tg_c(lo, EMC) <= tg_c(hi, EMC) + 1e-12


class TestAnalyticIsothermal:
    """With f_d ≡ 1 and k2 = 0 the model is n-th order kinetics, which has a closed form."""

    @pytest.mark.parametrize("temp_c", [120.0, 150.0, 175.0, 250.0])
    def test_first_order(self, temp_c: float) -> None:
        """n = 1: α = 1 − exp(−k1·t), within 1e-6 from seconds to hours."""
        k = no_diffusion(a2_per_s=0.0, n=1.0)
        k1, k2 = rate_constants(temp_c, k)
        assert k2 == 0.0
        for t in (1.0, 10.0, 60.0, 120.0, 600.0, 3600.0, 4 * 3600.0):
            expected = 1 - math.exp(-k1 * t)
            assert isothermal_alpha(temp_c, t, k) == pytest.approx(expected, abs=1e-6)

    @pytest.mark.parametrize("n", [1.5, 1.8, 3.0])
    @pytest.mark.parametrize("temp_c", [150.0, 175.0, 220.0])
    def test_nth_order(self, n: float, temp_c: float) -> None:
        """n ≠ 1: α = 1 − [1 + (n − 1)·k1·t]^(−1/(n − 1)), within 1e-6."""
        k = no_diffusion(a2_per_s=0.0, n=n)
        k1, _ = rate_constants(temp_c, k)
        for t in (1.0, 30.0, 120.0, 900.0, 4 * 3600.0):
            expected = 1 - (1 + (n - 1) * k1 * t) ** (-1 / (n - 1))
            assert isothermal_alpha(temp_c, t, k) == pytest.approx(expected, abs=1e-6)

    def test_from_a_partial_cure(self) -> None:
        """Starting at α0, first order gives 1 − (1 − α0)·exp(−k1·t)."""
        k = no_diffusion(a2_per_s=0.0, n=1.0)
        k1, _ = rate_constants(175.0, k)
        expected = 1 - 0.6 * math.exp(-k1 * 100.0)
        assert isothermal_alpha(175.0, 100.0, k, alpha0=0.4) == pytest.approx(expected, abs=1e-6)

    def test_first_order_over_a_ramp(self) -> None:
        """A linear ramp, sampled only at its ends, gives 1 − exp(−∫k1 dt) (Simpson, 20k panels).

        This pins the 'temperature is linear between samples' rule.
        """
        k = no_diffusion(a2_per_s=0.0, n=1.0)
        t_end, t0, t1 = 300.0, 100.0, 190.0
        panels = 20_000
        h = t_end / panels
        weights = [1 if i in (0, panels) else 4 if i % 2 else 2 for i in range(panels + 1)]
        integral = (
            h
            / 3
            * sum(
                w * rate_constants(t0 + (t1 - t0) * i / panels, k)[0] for i, w in enumerate(weights)
            )
        )
        result = integrate([(0.0, t0), (t_end, t1)], 0.0, k, max_gap_s=math.inf)
        assert result.alpha == pytest.approx(1 - math.exp(-integral), abs=1e-6)


class TestDomainNumbers:
    """The shipped emc-g700 reproduces DOMAIN.md's illustrative numbers."""

    @pytest.mark.parametrize(("t_s", "expected"), [(60.0, 0.75), (90.0, 0.85), (120.0, 0.90)])
    def test_isothermal_175(self, t_s: float, expected: float) -> None:
        """At 175 °C: α ≈ 0.75 / 0.85 / 0.90 after 60 / 90 / 120 s (±0.02)."""
        assert isothermal_alpha(175.0, t_s, EMC) == pytest.approx(expected, abs=0.02)

    def test_isothermal_150(self) -> None:
        """At 150 °C: α ≈ 0.59 after 120 s (±0.02)."""
        assert isothermal_alpha(150.0, 120.0, EMC) == pytest.approx(0.59, abs=0.02)

    def test_in_mold_cure_stalls_near_0_9(self) -> None:
        """Vitrification slows the end: staying 10 min in the mold adds < 0.05 over 120 s."""
        at_120 = isothermal_alpha(175.0, 120.0, EMC)
        at_600 = isothermal_alpha(175.0, 600.0, EMC)
        assert 0.85 <= at_120 <= 0.90
        assert at_600 - at_120 < 0.05
        assert at_600 < 0.95

    def test_without_diffusion_pmc_would_look_pointless(self) -> None:
        """Without f_d, 120 s + 1 h at 175 °C reaches 0.998: DOMAIN's 'α → 0.999 in an hour'."""
        k = no_diffusion()
        assert isothermal_alpha(175.0, 120.0 + 3600.0, k) > 0.998

    def test_pmc_lifts_the_mold_cure_above_0_95(self) -> None:
        """After a 120 s mold, 4 h at 175 °C reaches ≥ 0.95; 1 h does not."""
        mold = isothermal_alpha(175.0, 120.0, EMC)
        assert isothermal_alpha(175.0, 3600.0, EMC, alpha0=mold) < 0.95
        assert isothermal_alpha(175.0, 4 * 3600.0, EMC, alpha0=mold) >= 0.95

    def test_the_shipped_pmc_program_reaches_0_95(self) -> None:
        """Mold 130 s, a day at room temperature, then pmc-175's setpoint profile: α ≥ 0.95."""
        mold = isothermal_alpha(175.0, 130.0, EMC)
        waited = isothermal_alpha(25.0, 24 * 3600.0, EMC, alpha0=mold)
        assert waited - mold < 1e-3  # Q-time wait: the cure hardly moves at room temperature
        pmc = load_oven_recipe(library_path() / "pmc-175.toml")
        history = [(p.t_s, p.setpoint_c) for p in expand(pmc, 25.0)]
        result = integrate(history, waited, EMC, max_gap_s=math.inf)
        assert result.alpha >= 0.95


class TestSampling:
    @HYPO
    @given(
        st.lists(st.floats(0.01, 299.99), min_size=0, max_size=40, unique=True),
        st.floats(140.0, 190.0),
    )
    def test_uneven_isothermal_sampling_gives_the_same_alpha(
        self, times: list[float], temp_c: float
    ) -> None:
        """Random sample times over a constant temperature agree with 0.5 s sampling (1e-4)."""
        even = integrate(uniform(300.0, 0.5, lambda _: temp_c), 0.0, EMC)
        history = [(t, temp_c) for t in sorted({0.0, 300.0, *times})]
        uneven = integrate(history, 0.0, EMC, max_gap_s=math.inf)
        assert uneven.alpha == pytest.approx(even.alpha, abs=1e-4)

    @HYPO
    @given(st.lists(st.floats(0.01, 599.99), min_size=0, max_size=60, unique=True))
    def test_uneven_sampling_of_a_ramp_gives_the_same_alpha(self, times: list[float]) -> None:
        """A ramp 25 → 175 °C in 60 s then a hold, sampled at random times plus its corners,
        agrees with 0.5 s sampling (1e-4); so does its time above Tg (to 0.5 s)."""

        def temp(t: float) -> float:
            return 25.0 + 150.0 * min(t, 60.0) / 60.0

        even = integrate(uniform(600.0, 0.5, temp), 0.0, EMC)
        history = [(t, temp(t)) for t in sorted({0.0, 60.0, 600.0, *times})]
        uneven = integrate(history, 0.0, EMC, max_gap_s=math.inf)
        assert uneven.alpha == pytest.approx(even.alpha, abs=1e-4)
        assert uneven.time_above_tg_s == pytest.approx(even.time_above_tg_s, abs=0.5)

    @HYPO
    @given(
        st.lists(st.tuples(st.floats(0.0, 30.0), st.floats(0.0, 260.0)), min_size=1, max_size=60),
        st.floats(0.0, 0.99),
    )
    def test_alpha_is_monotone_and_below_one(
        self, steps: list[tuple[float, float]], alpha0: float
    ) -> None:
        """Over any history (repeated times, cooling, reheating), α never decreases, stays in
        [α0, 1), and time above Tg never exceeds the elapsed time."""
        state = CureState(EMC, alpha0)
        t, previous = 0.0, alpha0
        for dt, temp in steps:
            t += dt
            alpha = state.advance(t, temp)
            assert previous <= alpha <= ALPHA_MAX < 1.0
            previous = alpha
        assert 0.0 <= state.time_above_tg_s <= t + 1e-9

    def test_samples_at_extreme_temperatures_stay_bounded_and_fast(self) -> None:
        """A thermocouple reading 1370 °C for a minute drives α toward 1, never past it."""
        result = integrate([(0.0, 175.0), (1.0, 1370.0), (60.0, 1370.0)], 0.0, EMC)
        assert 0.999 < result.alpha <= ALPHA_MAX


class TestGaps:
    def test_a_long_interval_is_reported_and_integrated(self) -> None:
        """An interval longer than max_gap_s is listed in gaps; α is integrated across it
        (linear temperature), so an isothermal gap costs no accuracy."""
        history = [(float(t), 175.0) for t in range(31)] + [(90.0, 175.0), (120.0, 175.0)]
        result = integrate(history, 0.0, EMC, max_gap_s=10.0)
        assert result.gaps == (Gap(30.0, 90.0), Gap(90.0, 120.0))
        assert result.gaps[0].duration_s == 60.0
        assert result.alpha == pytest.approx(isothermal_alpha(175.0, 120.0, EMC), abs=1e-6)

    def test_intervals_up_to_max_gap_are_not_gaps(self) -> None:
        """An interval of exactly max_gap_s is not a gap."""
        result = integrate([(0.0, 175.0), (10.0, 175.0), (20.0, 175.0)], 0.0, EMC, max_gap_s=10.0)
        assert result.gaps == ()

    def test_streaming_reports_the_same_gaps(self) -> None:
        """CureState.gaps lists each gap as soon as the sample after it arrives."""
        state = CureState(EMC, max_gap_s=5.0)
        state.advance(0.0, 175.0)
        state.advance(3.0, 175.0)
        assert state.gaps == ()
        state.advance(20.0, 175.0)
        assert state.gaps == (Gap(3.0, 20.0),)


class TestStreaming:
    HISTORY = [(0.0, 25.0), (0.7, 60.0), (2.0, 120.0), (5.5, 171.0), (9.0, 176.0)] + [
        (10.0 + 1.3 * i, 175.0 + math.sin(i)) for i in range(100)
    ]

    def test_streaming_equals_batch(self) -> None:
        """Feeding samples one by one to CureState gives exactly integrate()'s result."""
        state = CureState(EMC, 0.1)
        alphas = [state.advance(t, temp) for t, temp in self.HISTORY]
        batch = integrate(self.HISTORY, 0.1, EMC)
        assert state.result() == batch
        assert alphas[-1] == batch.alpha
        assert batch.samples == len(self.HISTORY)
        assert batch.start_s == 0.0
        assert batch.end_s == self.HISTORY[-1][0]
        assert batch.tg_c == tg_c(batch.alpha, EMC)

    def test_every_prefix_matches(self) -> None:
        """α after each streamed sample equals integrate() over the history up to it."""
        state = CureState(EMC)
        for i, (t, temp) in enumerate(self.HISTORY[:30]):
            assert state.advance(t, temp) == integrate(self.HISTORY[: i + 1], 0.0, EMC).alpha

    def test_state_exposes_the_last_sample(self) -> None:
        """last_t_s / last_temp_c are the last sample; None before the first."""
        state = CureState(EMC)
        assert state.last_t_s is None
        assert state.last_temp_c is None
        state.advance(5.0, 100.0)
        assert (state.last_t_s, state.last_temp_c) == (5.0, 100.0)
        assert state.alpha == 0.0

    def test_a_repeated_time_steps_the_temperature(self) -> None:
        """Two samples at one time: the second temperature holds from then on."""
        state = CureState(EMC)
        state.advance(0.0, 25.0)
        state.advance(0.0, 175.0)
        state.advance(120.0, 175.0)
        assert state.alpha == pytest.approx(isothermal_alpha(175.0, 120.0, EMC), abs=1e-9)

    def test_samples_out_of_order_are_refused(self) -> None:
        """A sample older than the last one raises ValueError and changes nothing."""
        state = CureState(EMC)
        state.advance(10.0, 175.0)
        state.advance(20.0, 175.0)
        before = state.result()
        with pytest.raises(ValueError, match="time order"):
            state.advance(15.0, 175.0)
        assert state.result() == before

    @pytest.mark.parametrize(("t", "temp"), [(math.nan, 175.0), (1.0, math.nan), (1.0, -300.0)])
    def test_invalid_samples_are_refused(self, t: float, temp: float) -> None:
        """A non-finite time or temperature raises ValueError; the state is unchanged."""
        state = CureState(EMC)
        state.advance(0.0, 175.0)
        with pytest.raises(ValueError, match="finite"):
            state.advance(t, temp)
        assert state.last_t_s == 0.0
        assert state.alpha == 0.0

    def test_no_samples(self) -> None:
        """An empty history, or a result before any sample, is a ValueError."""
        with pytest.raises(ValueError, match="empty"):
            integrate([], 0.0, EMC)
        with pytest.raises(ValueError, match="no samples"):
            CureState(EMC).result()

    @pytest.mark.parametrize("alpha0", [-0.1, 1.0, math.nan])
    def test_alpha0_must_be_a_partial_cure(self, alpha0: float) -> None:
        """α0 outside [0, 1) is refused."""
        with pytest.raises(ValueError, match="alpha0"):
            CureState(EMC, alpha0)


class TestTimeAboveTg:
    def test_above_tg_inf_all_the_time_counts(self) -> None:
        """Above Tg∞ the compound is rubbery however far it cures: all the time counts."""
        result = integrate(uniform(300.0, 1.0, lambda _: EMC.tg_inf_c + 10.0), 0.0, EMC)
        assert result.time_above_tg_s == pytest.approx(300.0)

    def test_below_tg0_none_counts(self) -> None:
        """Below Tg0 the compound is glassy from the start."""
        result = integrate(uniform(300.0, 1.0, lambda _: EMC.tg0_c - 10.0), 0.0, EMC)
        assert result.time_above_tg_s == 0.0

    def test_at_175_it_ends_when_tg_reaches_175(self) -> None:
        """Isothermal at 175 °C, the time above Tg is the time α takes to reach Tg⁻¹(175)."""
        result = integrate(uniform(1800.0, 1.0, lambda _: 175.0), 0.0, EMC)
        lo, hi = 0.0, 1800.0  # bisect the time at which Tg(α(t)) = 175 °C
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if tg_c(isothermal_alpha(175.0, mid, EMC), EMC) < 175 else (lo, mid)
        assert result.time_above_tg_s == pytest.approx(lo, abs=1.0)
        assert 120.0 < lo < 1800.0


class TestKineticsSchema:
    def test_kelvin_offset(self) -> None:
        """°C to K is +273.15, used by both Arrhenius and the critical conversion."""
        assert KELVIN_OFFSET == 273.15

    def test_tg_inf_must_exceed_tg0(self) -> None:
        """A material whose cured Tg is not above its uncured Tg is refused."""
        with pytest.raises(ValueError, match=r"tg_inf_c = 10: must be > 20"):
            kinetics(tg_inf_c=10.0)
