"""EMC cure physics (simulators/physics/emc.py): DOMAIN.md's numbers, bounds, Tg, vitrification."""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.physics import emc

P = emc.EmcParams()
SHIPPED = Path(__file__).resolve().parents[3] / "recipes" / "materials" / "emc-g700.toml"
# The same kinetics with the diffusion factor switched off (αc far above 1: f_d ≡ 1).
NO_FD = dataclasses.replace(P, alpha_c0=100.0)


class TestIsothermalCure:
    @pytest.mark.parametrize(
        ("seconds", "expected", "tol"), [(60, 0.75, 0.01), (90, 0.85, 0.01), (120, 0.90, 0.015)]
    )
    def test_175c_gives_domain_numbers(self, seconds: float, expected: float, tol: float) -> None:
        """At 175 °C α ≈ 0.75 / 0.85 / 0.90 after 60 / 90 / 120 s (DOMAIN.md): within 0.01, and
        within 0.015 at 120 s, where f_d already slows the cure near αc 0.884 (α 0.888)."""
        assert emc.isothermal(P, 175.0, seconds) == pytest.approx(expected, abs=tol)

    def test_150c_for_120s_gives_059(self) -> None:
        """At 150 °C, 120 s give α ≈ 0.59 (DOMAIN.md)."""
        assert emc.isothermal(P, 150.0, 120.0) == pytest.approx(0.59, abs=0.01)

    def test_diffusion_factor_leaves_the_in_mold_numbers_alone(self) -> None:
        """f_d ≈ 1 while the mold cure runs: with and without it α(90 s, 175 °C) agree to 0.002;
        by 120 s α nears αc (0.884) and f_d costs a little, 0.005..0.02 (0.888 against 0.900)."""
        assert emc.isothermal(P, 175.0, 90.0) == pytest.approx(
            emc.isothermal(NO_FD, 175.0, 90.0), abs=0.002
        )
        lost = emc.isothermal(NO_FD, 175.0, 120.0) - emc.isothermal(P, 175.0, 120.0)
        assert 0.005 <= lost <= 0.02

    def test_in_mold_cure_stalls_below_095(self) -> None:
        """Ten minutes in the mold at 175 °C still leave α < 0.95: the cure stops near αc."""
        assert emc.isothermal(P, 175.0, 600.0) < 0.95

    def test_post_mold_cure_4h_at_175c_lifts_alpha_to_095_097(self) -> None:
        """A 4 h post-mold cure at 175 °C takes the molded α ≈ 0.888 (120 s) to 0.95..0.97
        (≈ 0.959); 1 h is not enough for 0.95 (≈ 0.947)."""
        molded = emc.isothermal(P, 175.0, 120.0)
        assert emc.isothermal(P, 175.0, 3600.0, molded) < 0.95
        after = emc.isothermal(P, 175.0, 4 * 3600.0, molded)
        assert 0.95 <= after <= 0.97

    def test_without_diffusion_control_pmc_would_be_pointless(self) -> None:
        """Without f_d the same kinetics reach α > 0.998 within an hour (DOMAIN.md's point)."""
        assert emc.isothermal(NO_FD, 175.0, 3600.0) > 0.998
        assert emc.isothermal(P, 175.0, 3600.0) < 0.95


class TestIntegration:
    @given(
        temp_c=st.floats(20.0, 260.0),
        alpha0=st.floats(0.0, 1.0),
        dt=st.floats(0.0, 5000.0),
    )
    def test_alpha_stays_in_0_1_and_never_falls(
        self, temp_c: float, alpha0: float, dt: float
    ) -> None:
        """For any temperature, start and step, α(t+dt) lies in [α(t), 1]."""
        alpha = emc.step(P, alpha0, temp_c, dt)
        assert alpha0 <= alpha <= 1.0

    def test_alpha_is_monotone_along_a_cure(self) -> None:
        """α rises step by step at 175 °C and never leaves [0, 1]."""
        alphas = [0.0]
        for _ in range(600):
            alphas.append(emc.step(P, alphas[-1], 175.0, 1.0))
        assert all(b >= a for a, b in itertools.pairwise(alphas))
        assert alphas[0] >= 0.0
        assert alphas[-1] <= 1.0

    def test_result_does_not_depend_on_how_time_is_sliced(self) -> None:
        """120 s in one call and in 1200 calls of 0.1 s agree to 1e-6 (RK4 sub-steps)."""
        alpha = 0.0
        for _ in range(1200):
            alpha = emc.step(P, alpha, 175.0, 0.1)
        assert alpha == pytest.approx(emc.step(P, 0.0, 175.0, 120.0), abs=1e-6)

    def test_no_time_no_cure(self) -> None:
        """dt ≤ 0 returns α unchanged; fully cured stays at 1."""
        assert emc.step(P, 0.3, 175.0, 0.0) == 0.3
        assert emc.step(P, 0.3, 175.0, -5.0) == 0.3
        assert emc.step(P, 1.0, 175.0, 100.0) == 1.0

    def test_hotter_cures_faster(self) -> None:
        """At the same α the rate rises with temperature (Arrhenius)."""
        rates = [emc.cure_rate(P, 0.3, t) for t in (140.0, 160.0, 175.0, 190.0)]
        assert rates == sorted(rates)


class TestDiffusionFactor:
    def test_is_one_half_at_the_critical_alpha(self) -> None:
        """f_d = 1/2 at αc(T) = αc0 + αcT·T (T in K): 0.884 at 175 °C."""
        ac = emc.critical_alpha(P, 175.0)
        assert ac == pytest.approx(-0.46 + 0.003 * 448.15)
        assert ac == pytest.approx(0.884, abs=0.001)
        assert emc.diffusion_factor(P, ac, 175.0) == pytest.approx(0.5)

    def test_falls_with_alpha_and_slows_the_end(self) -> None:
        """f_d ≈ 1 in the mobile resin (α 0.6), small past αc (α 0.95); the rate drops with it."""
        assert emc.diffusion_factor(P, 0.6, 175.0) > 0.999
        assert emc.diffusion_factor(P, 0.95, 175.0) < 0.05
        factors = [emc.diffusion_factor(P, a / 100, 175.0) for a in range(101)]
        assert factors == sorted(factors, reverse=True)
        assert emc.cure_rate(P, 0.93, 175.0) < 0.25 * emc.cure_rate(NO_FD, 0.93, 175.0)

    def test_hotter_vitrifies_later(self) -> None:
        """αc rises with temperature: a hotter cure gets further before it stalls."""
        assert emc.critical_alpha(P, 150.0) < emc.critical_alpha(P, 175.0)
        assert emc.critical_alpha(P, 175.0) < emc.critical_alpha(P, 200.0)

    def test_huge_argument_does_not_overflow(self) -> None:
        """Far past αc the factor is 0.0, not an OverflowError."""
        steep = dataclasses.replace(P, c=1e6)
        assert emc.diffusion_factor(steep, 1.0, 20.0) == 0.0


class TestGlassTransition:
    def test_ends_are_tg0_and_tg_inf(self) -> None:
        """DiBenedetto: Tg(0) = Tg0 = 20 °C, Tg(1) = Tg∞ = 200 °C."""
        assert emc.glass_transition_c(P, 0.0) == pytest.approx(20.0)
        assert emc.glass_transition_c(P, 1.0) == pytest.approx(200.0)

    def test_rises_with_alpha(self) -> None:
        """Tg rises strictly with α, convex (λ < 1): most of the rise comes late."""
        tgs = [emc.glass_transition_c(P, a / 20) for a in range(21)]
        assert all(b > a for a, b in itertools.pairwise(tgs))
        assert emc.glass_transition_c(P, 0.5) < 0.5 * (20.0 + 200.0)

    def test_matches_dibenedetto_at_090(self) -> None:
        """(Tg − Tg0)/(Tg∞ − Tg0) = λα/(1 − (1 − λ)α): at α 0.9, λ 0.5 → Tg ≈ 167.3 °C."""
        expected = 20.0 + 180.0 * 0.5 * 0.9 / (1 - 0.5 * 0.9)
        assert emc.glass_transition_c(P, 0.9) == pytest.approx(expected)
        assert expected == pytest.approx(167.3, abs=0.1)

    def test_vitrifies_at_175c_near_0925(self) -> None:
        """Tg∞ lies above the cure temperature; Tg(α) passes 175 °C between α 0.92 and 0.93."""
        assert P.tg_inf_c > 175.0
        assert emc.glass_transition_c(P, 0.92) < 175.0 < emc.glass_transition_c(P, 0.93)


def test_the_simulated_compound_is_the_shipped_emc_g700() -> None:
    """The simulator's truth and the material file the engine reads are one grade: every
    constant equal (the simulator writes them out; it may not import recipes/)."""
    kinetics = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))["kinetics"]
    renamed = {"tg_lambda": "lam"}
    shipped = {renamed.get(k, k): v for k, v in kinetics.items()}
    assert shipped == dataclasses.asdict(P)
    assert dataclasses.asdict(P) != dataclasses.asdict(NO_FD)  # the comparison can fail
