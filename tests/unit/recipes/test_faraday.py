"""The plating process model: Faraday's law for Cu, charge integration, learning η."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from recipes.faraday import (
    DOMAIN_UM_PER_ASD_MIN,
    UM_PER_ASD_MIN,
    ChargeIntegrator,
    Gap,
    charge_for_thickness,
    current_a,
    efficiency_ratio,
    expected_thickness_um,
    programmed_charge_c,
    programmed_current_a,
    programmed_density_asd,
    programmed_duration_s,
    thickness_um,
    update_eta,
)
from recipes.loader import library_path
from recipes.plating import PlatingRecipe, load_plating_recipe

# Independent spelling of Faraday's law: h = Q·η·M / (z·F·ρ·A), in cm, then µm.
M, RHO, F, Z = 63.546, 8.96, 96485.33, 2


def physical_um(charge_c: float, area_dm2: float, eta: float = 1.0) -> float:
    return charge_c * eta * M / (Z * F * RHO * area_dm2 * 100) * 1e4


@pytest.fixture
def rdl() -> PlatingRecipe:
    return load_plating_recipe(library_path() / "rdl-cu-5um.toml")


class TestFaraday:
    def test_matches_the_physical_formula(self) -> None:
        """thickness_um is Q·η·M / (z·F·ρ·A) for copper."""
        for q, a, eta in [(1000.0, 2.83, 1.0), (4280.0, 2.83, 0.9), (12.5, 0.1, 0.6)]:
            assert thickness_um(q, a, eta) == pytest.approx(physical_um(q, a, eta), rel=1e-6)

    def test_constant_per_asd_min(self) -> None:
        """0.2205 µm per A/dm²·min; DOMAIN.md's 0.227 is the same law rounded (~3 % high)."""
        assert round(UM_PER_ASD_MIN, 5) == 0.22052
        # 1 A/dm² on 1 dm² for 1 min
        assert thickness_um(60.0, 1.0) == pytest.approx(UM_PER_ASD_MIN, rel=1e-12)
        assert 1.0 < DOMAIN_UM_PER_ASD_MIN / UM_PER_ASD_MIN < 1.03

    def test_domain_example(self) -> None:
        """DOMAIN.md: 2 A/dm² for 10 min → 4.4 µm theoretical (η = 1), within 3 %."""
        for area in (0.5, 2.83, 7.07):  # at a given density the area cancels out
            charge = current_a(2.0, area) * 600.0
            assert thickness_um(charge, area) == pytest.approx(4.4, rel=0.03)
            assert thickness_um(charge, area) == pytest.approx(4.41, abs=0.005)

    def test_domain_example_measured_eta(self) -> None:
        """3.9 µm measured of 4.41 theoretical is η ≈ 0.89 (DOMAIN.md)."""
        theoretical = thickness_um(current_a(2.0, 1.0) * 600.0, 1.0)
        assert efficiency_ratio(3.9, theoretical) == pytest.approx(0.89, abs=0.01)

    def test_eta_scales_linearly(self) -> None:
        """Half the efficiency, half the copper."""
        full = thickness_um(5000.0, 2.0, 1.0)
        assert thickness_um(5000.0, 2.0, 0.9) == pytest.approx(0.9 * full)
        assert thickness_um(5000.0, 2.0, 0.5) == pytest.approx(0.5 * full)

    @pytest.mark.parametrize("eta", [0.6, 0.9, 1.0])
    @pytest.mark.parametrize("area", [0.5, 2.83, 7.07])
    def test_round_trip(self, eta: float, area: float) -> None:
        """charge_for_thickness inverts thickness_um."""
        q = charge_for_thickness(5.0, area, eta)
        assert thickness_um(q, area, eta) == pytest.approx(5.0, rel=1e-12)
        assert charge_for_thickness(thickness_um(1234.0, area, eta), area, eta) == pytest.approx(
            1234.0, rel=1e-12
        )

    def test_current(self) -> None:
        assert current_a(2.0, 2.83) == pytest.approx(5.66)

    @pytest.mark.parametrize(
        ("call", "match"),
        [
            (lambda: thickness_um(100.0, 0.0), "area_dm2"),
            (lambda: thickness_um(100.0, 1.0, 0.0), "eta"),
            (lambda: thickness_um(100.0, 1.0, 1.1), "eta"),
            (lambda: thickness_um(math.nan, 1.0), "charge_c"),
            (lambda: charge_for_thickness(5.0, -1.0), "area_dm2"),
            (lambda: current_a(2.0, math.inf), "area_dm2"),
        ],
    )
    def test_bad_arguments(self, call: Callable[[], float], match: str) -> None:
        with pytest.raises(ValueError, match=match):
            call()


class TestProgrammedProfile:
    def test_shipped_recipe_reaches_its_target(self, rdl: PlatingRecipe) -> None:
        """rdl-cu-5um gives ~5 µm at its η of 0.9."""
        assert expected_thickness_um(rdl) == pytest.approx(5.0, abs=0.02)
        assert expected_thickness_um(rdl, 1.0) == pytest.approx(5.0 / 0.9, abs=0.03)

    def test_charge_integrates_ramps(self, rdl: PlatingRecipe) -> None:
        """Strike 0.5·60, ramp (0.5+2)/2·5, hold 2·738 (A/dm²·s), times the area."""
        asd_s = 0.5 * 60 + 1.25 * 5 + 2.0 * 738
        assert programmed_charge_c(rdl) == pytest.approx(asd_s * 2.83)
        assert programmed_duration_s(rdl) == 803.0

    def test_setpoint_over_time(self, rdl: PlatingRecipe) -> None:
        assert programmed_density_asd(rdl, 0.0) == 0.5
        assert programmed_density_asd(rdl, 59.9) == 0.5
        assert programmed_density_asd(rdl, 62.5) == pytest.approx(1.25)  # mid-ramp
        assert programmed_density_asd(rdl, 65.0) == 2.0
        assert programmed_density_asd(rdl, 803.0) == 0.0
        assert programmed_current_a(rdl, 100.0) == pytest.approx(5.66)

    def test_integrating_the_setpoint_gives_the_programmed_charge(self, rdl: PlatingRecipe) -> None:
        """A perfect rectifier, sampled every 0.5 s, passes the programmed charge."""
        integ = ChargeIntegrator()
        t = 0.0
        while t < programmed_duration_s(rdl):
            integ.advance(t, programmed_current_a(rdl, t))
            t += 0.5
        # the step from 0.5 to 0 A/dm² at the end and the strike edge cost < one sample each
        assert integ.charge_c == pytest.approx(programmed_charge_c(rdl), rel=2e-3)


class TestChargeIntegrator:
    def test_constant_current_nonuniform_sampling_is_i_times_t(self) -> None:
        """Trapezoids are exact for a constant current, however the samples fall."""
        integ = ChargeIntegrator(max_gap_s=10.0)
        times = [0.0, 0.1, 0.35, 1.0, 2.7, 2.71, 5.0, 9.5, 12.0, 30.0]
        for t in times:
            integ.advance(t, 5.66)
        assert integ.charge_c == pytest.approx(5.66 * 30.0, rel=1e-12)
        assert integ.amp_hours == pytest.approx(5.66 * 30.0 / 3600)
        assert integ.duration_s == 30.0
        assert integ.samples == len(times)
        assert integ.thickness_um(2.83, 0.9) == pytest.approx(physical_um(5.66 * 30, 2.83, 0.9))

    def test_linear_ramp_is_exact(self) -> None:
        """A current linear in time integrates exactly: ∫0..10 of 2t dt = 100."""
        integ = ChargeIntegrator()
        for t in [0.0, 1.5, 4.0, 4.2, 7.0, 10.0]:
            integ.advance(t, 2 * t)
        assert integ.charge_c == pytest.approx(100.0)

    def test_gaps_are_reported_and_still_integrated(self) -> None:
        integ = ChargeIntegrator(max_gap_s=5.0)
        for t in [0.0, 1.0, 2.0, 10.0, 11.0, 11.0, 30.0]:
            integ.advance(t, 1.0)
        assert integ.gaps == (Gap(2.0, 10.0), Gap(11.0, 30.0))
        assert integ.gaps[1].duration_s == 19.0
        assert integ.charge_c == pytest.approx(30.0)

    def test_a_bridge_models_only_the_gaps(self) -> None:
        """Intervals up to max_gap_s stay trapezoids; a gap takes the bridge's charge."""
        seen: list[tuple[float, float, float, float]] = []

        def bridge(t0: float, i0: float, t1: float, i1: float) -> float:
            seen.append((t0, i0, t1, i1))
            return 100.0

        integ = ChargeIntegrator(max_gap_s=5.0, bridge=bridge)
        for t, i in [(0.0, 1.0), (1.0, 1.0), (20.0, 3.0), (21.0, 3.0)]:
            integ.advance(t, i)
        assert seen == [(1.0, 1.0, 20.0, 3.0)]
        assert integ.charge_c == pytest.approx(1.0 + 100.0 + 3.0)
        assert integ.gaps == (Gap(1.0, 20.0),)

    def test_repeated_time_replaces_the_current(self) -> None:
        """A step: the second sample at t = 10 sets the current from there on."""
        integ = ChargeIntegrator()
        integ.advance(0.0, 1.0)
        integ.advance(1.0, 1.0)
        integ.advance(1.0, 3.0)
        integ.advance(2.0, 3.0)
        assert integ.charge_c == pytest.approx(4.0)
        assert integ.last_current_a == 3.0

    def test_first_sample_passes_no_charge(self) -> None:
        integ = ChargeIntegrator()
        assert integ.advance(100.0, 5.0) == 0.0
        assert integ.start_s == 100.0
        assert integ.gaps == ()

    def test_bad_samples_are_refused(self) -> None:
        integ = ChargeIntegrator()
        integ.advance(5.0, 1.0)
        with pytest.raises(ValueError, match="time order"):
            integ.advance(4.0, 1.0)
        with pytest.raises(ValueError, match="current_a"):
            integ.advance(6.0, math.nan)
        with pytest.raises(ValueError, match="t_s"):
            integ.advance(math.inf, 1.0)
        assert integ.charge_c == 0.0
        with pytest.raises(ValueError, match="max_gap_s"):
            ChargeIntegrator(max_gap_s=0.0)


class TestUpdateEta:
    def test_first_result_is_its_own_ratio(self) -> None:
        assert update_eta([], 3.9, 4.4, 5, 0.5, 1.0) == pytest.approx(3.9 / 4.4)

    def test_moving_average_over_the_window(self) -> None:
        """The last `window` ratios, the new one included, are averaged; older ones drop out."""
        history = [0.50, 0.86, 0.88, 0.90, 0.92]  # 0.50 falls out of a window of 5
        eta = update_eta(history, 4.5, 5.0, 5, 0.5, 1.0)  # new ratio 0.90
        assert eta == pytest.approx((0.86 + 0.88 + 0.90 + 0.92 + 0.90) / 5)
        assert update_eta(history, 4.5, 5.0, 1, 0.5, 1.0) == pytest.approx(0.90)
        assert update_eta(history, 4.5, 5.0, 100, 0.5, 1.0) == pytest.approx(
            (sum(history) + 0.90) / 6
        )

    def test_bounded(self) -> None:
        """A wild measurement cannot drive η outside [eta_min, eta_max]."""
        assert update_eta([0.9], 0.5, 5.0, 2, 0.75, 0.98) == 0.75  # mean 0.5
        assert update_eta([0.97], 6.0, 5.0, 2, 0.75, 0.98) == 0.98  # mean 1.085
        assert update_eta([0.9], 0.0, 5.0, 2, 0.75, 0.98) == 0.75

    @pytest.mark.parametrize(
        ("history", "measured", "theoretical", "window", "lo", "hi", "match"),
        [
            ([], 4.0, 5.0, 0, 0.5, 1.0, "window"),
            ([], 4.0, 5.0, 3, 0.9, 0.8, "eta_min"),
            ([], 4.0, 0.0, 3, 0.5, 1.0, "theoretical"),
            ([], -1.0, 5.0, 3, 0.5, 1.0, "measured"),
            ([math.nan], 4.0, 5.0, 3, 0.5, 1.0, r"history\[0\]"),
        ],
    )
    def test_bad_arguments(
        self,
        history: list[float],
        measured: float,
        theoretical: float,
        window: int,
        lo: float,
        hi: float,
        match: str,
    ) -> None:
        with pytest.raises(ValueError, match=match):
            update_eta(history, measured, theoretical, window, lo, hi)
