"""OvenChecker: enforcement of a ramp profile over synthetic snapshots (no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.core.oven import OvenSnapshot, ProgramState
from mes.engine.oven.checks import OvenChecker
from recipes.loader import load_oven_recipe
from recipes.oven import OvenRecipe
from recipes.profile import setpoint_at, total_duration_s

LIB = Path(__file__).resolve().parents[3] / "recipes" / "library"


@pytest.fixture
def pmc() -> OvenRecipe:
    return load_oven_recipe(LIB / "pmc-175.toml")


def snap(
    t: float, zones: tuple[float, ...], sp: float, o2: float = 5.0, n2: float = 50.0
) -> OvenSnapshot:
    return OvenSnapshot(ProgramState.RUNNING, 0, t, sp, zones, o2, n2, False, 0, 1)


def run(checker: OvenChecker, recipe: OvenRecipe, dt: float = 30.0, zone_fn=None) -> list:  # type: ignore[no-untyped-def]
    events = []
    t = 0.0
    end = total_duration_s(recipe, checker.start_c)
    while t <= end:
        sp = setpoint_at(recipe, t, checker.start_c)
        zones = tuple(zone_fn(t, sp, z) if zone_fn else sp for z in range(1, 5))
        events += checker.observe(snap(t, zones, sp))
        t += dt
    return events


class TestOvenChecker:
    def test_perfect_run_passes(self, pmc: OvenRecipe) -> None:
        """Zones on the setpoint: no events, full guaranteed soak, nothing holds the lot."""
        checker = OvenChecker(pmc, 25.0)
        assert run(checker, pmc) == []
        assert checker.verdict_reasons(hold_on_excursion=True) == []
        assert checker.soaks[1].counted_s == pytest.approx(240 * 60, abs=1)

    def test_zone_failure_in_soak_names_zone_band_and_time(self, pmc: OvenRecipe) -> None:
        """A zone leaving the soak band raises one excursion naming zone, band and program time."""
        fail_at = 60 * 60 + 110 * 60  # 110 min into the soak

        def zones(t: float, sp: float, z: int) -> float:
            return sp - 8.0 if z == 3 and t >= fail_at and sp > 170 else sp

        checker = OvenChecker(pmc, 25.0)
        events = run(checker, pmc, zone_fn=zones)
        band = [e for e in events if e.code == "band3"]
        assert len(band) == 1
        assert "zone 3" in band[0].message
        assert "175.0 ± 3 °C" in band[0].message
        assert "2h50m00s" in band[0].message
        reasons = checker.verdict_reasons(hold_on_excursion=True)
        assert reasons[0].startswith("excursion: zone 3")
        assert any("guaranteed soak" in r and "109.5 of 240.0 min" in r for r in reasons)

    def test_alarm_policy_still_enforces_soak(self, pmc: OvenRecipe) -> None:
        """Under an alarm-only policy the excursion does not hold, but a short soak still does."""
        checker = OvenChecker(pmc, 25.0)
        run(checker, pmc, zone_fn=lambda t, sp, z: sp - 5 if 4000 < t < 6000 else sp)
        reasons = checker.verdict_reasons(hold_on_excursion=False)
        assert len(reasons) == 1
        assert reasons[0].startswith("guaranteed soak")

    def test_ramp_rate_limit(self, pmc: OvenRecipe) -> None:
        """PV rising faster than the recipe's maximum ramp rate is an excursion."""
        checker = OvenChecker(pmc, 25.0)
        events = []
        for i in range(20):
            t = i * 30.0
            sp = setpoint_at(pmc, t, 25.0)
            events += checker.observe(snap(t, (sp, sp, sp, 25.0 + 5.0 * t / 60), sp))
        codes = {e.code for e in events}
        assert "rate4" in codes

    def test_atmosphere_and_open_thermocouple(self, pmc: OvenRecipe) -> None:
        """O2 above the limit, N2 below it and a NaN thermocouple are each reported once."""
        checker = OvenChecker(pmc, 25.0)
        nan = float("nan")
        e1 = checker.observe(snap(0, (25.0, 25.0, 25.0, nan), 25.0, o2=500.0, n2=5.0))
        e2 = checker.observe(snap(30, (26.5, 26.5, 26.5, nan), 26.5, o2=500.0, n2=5.0))
        assert {e.code for e in e1} == {"o2", "n2", "tc4"}
        assert e2 == []

    def test_gap_is_not_counted_as_soak(self, pmc: OvenRecipe) -> None:
        """An interval after a gap in the samples never counts toward guaranteed soak."""
        checker = OvenChecker(pmc, 25.0)
        t0 = 60 * 60.0
        checker.observe(snap(t0, (175.0,) * 4, 175.0))
        checker.observe(snap(t0 + 3600, (175.0,) * 4, 175.0), after_gap=True)
        checker.observe(snap(t0 + 3660, (175.0,) * 4, 175.0))
        assert checker.soaks[1].counted_s == pytest.approx(60.0)
