"""PressChecker and WaferCureTracker: MUF enforcement and per-wafer α, no sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.core.press import CycleState, JobStatus, PressSnapshot
from mes.engine.cure import WaferCureTracker
from mes.engine.press.checks import PressChecker
from mes.services.ledger import WaferCureInput
from recipes.cure import isothermal_alpha
from recipes.materials import material_path
from recipes.muf import MufRecipe, load_muf_recipe, material_for

LIB = Path(__file__).resolve().parents[3] / "recipes" / "library"
STAGES = (
    (CycleState.CLAMP, 5.0),
    (CycleState.FILL, 10.0),
    (CycleState.CURE, 120.0),
    (CycleState.OPEN, 5.0),
)


@pytest.fixture
def muf() -> MufRecipe:
    return load_muf_recipe(LIB / "muf-175.toml")


def snap(
    t: float,
    cycle: int,
    state: CycleState,
    top: float = 175.0,
    pressure: float = 7.0,
    alarm: int = 0,
) -> PressSnapshot:
    return PressSnapshot(
        JobStatus.IN_PRODUCTION,
        3,
        state,
        alarm,
        1,
        0.0,
        t,
        cycle,
        cycle - 1,
        cycle - 1,
        0,
        0.0,
        top,
        175.0,
        600.0,
        pressure,
        50.0,
    )


def run_job(checker: PressChecker, cycles: int, dt: float = 1.0, **faults: float) -> None:
    t = 0.0
    for n in range(1, cycles + 1):
        for state, duration in STAGES:
            end = t + duration
            while t < end:
                kwargs = {}
                if n == faults.get("cold_cycle"):
                    kwargs["top"] = 160.0
                if n == faults.get("low_pressure_cycle") and state is CycleState.FILL:
                    kwargs["pressure"] = 2.0
                checker.observe(snap(t, n, state, **kwargs))
                t += dt
    checker.finish()


class TestPressChecker:
    def test_each_wafer_gets_its_mold_alpha(self, muf: MufRecipe) -> None:
        """A clean 2-cycle job gives each wafer the α of 130 s at 175 °C, and no reasons."""
        material = material_for(muf)
        checker = PressChecker(muf, material.kinetics, material.name, ("L1-W01", "L1-W02"))
        run_job(checker, 2)
        expected = isothermal_alpha(175.0, 130.0, material.kinetics)
        alphas = [r.alpha_after for r in checker.records.values()]
        assert alphas == pytest.approx([expected, expected], abs=0.003)  # last sample 1 s early
        assert checker.verdict_reasons(hold_on_excursion=True) == []
        assert 0.80 < expected < 0.95

    def test_cold_platen_names_cycle_wafer_band(self, muf: MufRecipe) -> None:
        """A platen outside its band is an excursion naming cycle and wafer; α falls short."""
        material = material_for(muf)
        checker = PressChecker(muf, material.kinetics, material.name, ("L1-W01", "L1-W02"))
        run_job(checker, 2, cold_cycle=2)
        reasons = checker.verdict_reasons(hold_on_excursion=True)
        assert "top platen at 160.0 °C outside 175 ± 5 °C in cycle 2 (L1-W02)" in reasons[0]
        assert checker.records[2].alpha_after < checker.records[1].alpha_after

    def test_pressure_loss_in_fill(self, muf: MufRecipe) -> None:
        """Transfer pressure below its band during fill is an excursion for that cycle."""
        material = material_for(muf)
        checker = PressChecker(muf, material.kinetics, material.name, ("L1-W01",))
        run_job(checker, 1, low_pressure_cycle=1)
        assert [e.code for e in checker.excursions] == ["transfer"]
        assert checker.bad_cycles == {1: checker.excursions[0].message}

    def test_a_gap_that_cuts_a_cycle_is_named_in_its_reason(self, muf: MufRecipe) -> None:
        """The press unreadable from 40 s into cycle 1's cure until cycle 2: the cycle's
        record counts the gap, and its low α is reported as computed across it."""
        material = material_for(muf)
        checker = PressChecker(muf, material.kinetics, material.name, ("L1-W01", "L1-W02"))
        for t in range(55):  # clamp 5 s, fill 10 s, 40 s of cure
            state = CycleState.CLAMP if t < 5 else CycleState.FILL if t < 15 else CycleState.CURE
            checker.observe(snap(float(t), 1, state))
        t0 = 140.0  # cycle 2 starts; everything in between unseen
        for i, (state, duration) in enumerate(STAGES):
            start = t0 + sum(d for _, d in STAGES[:i])
            for k in range(int(duration)):
                checker.observe(snap(start + k, 2, state), after_gap=(i == 0 and k == 0))
        checker.finish()
        assert (checker.records[1].gaps, checker.records[2].gaps) == (1, 0)
        reasons = checker.verdict_reasons(hold_on_excursion=True)
        alpha = checker.records[1].alpha_after
        assert reasons == [
            f"L1-W01: α = {alpha:.3f} after molding, below 0.8 (computed across 1 gap(s) in "
            "the press's readings during cycle 1: the cure it did not see is missing)"
        ]


class TestWaferCureTracker:
    def inputs(self, alpha: float) -> list[WaferCureInput]:
        body = material_path("emc-g700").read_text()
        return [WaferCureInput(f"L1-W{i:02d}", "emc-g700", body, alpha, 0.95) for i in (1, 2)]

    def test_pmc_lifts_alpha_to_target(self) -> None:
        """4 h at 175 °C after molding lifts every wafer above 0.95: no shortfall."""
        tracker = WaferCureTracker(self.inputs(0.88))
        for i in range(0, 4 * 3600 + 1, 60):
            tracker.advance(float(i), 175.0)
        assert tracker.shortfalls() == []
        assert all(r.alpha_after >= 0.95 for r in tracker.records())

    def test_cold_pmc_names_alpha(self) -> None:
        """A PMC run cold leaves α below target; the reason gives the computed α."""
        tracker = WaferCureTracker(self.inputs(0.88))
        for i in range(0, 4 * 3600 + 1, 60):
            tracker.advance(float(i), 130.0)
        reasons = tracker.shortfalls()
        assert len(reasons) == 1
        alpha = tracker.alpha("L1-W01")
        assert f"lowest α = {alpha:.3f}" in reasons[0]
        assert "2 wafer(s) (W01, W02)" in reasons[0]
