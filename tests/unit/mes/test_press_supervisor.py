"""The press supervisor against the simulator's press plant, on a fake clock: each wafer's α
against the plant's truth, and the recipe's excursion policy (hold at end, or abort)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.core.press import CycleState, JobStatus, PressJob, PressSnapshot
from mes.engine.press.supervisor import PressRunSupervisor
from mes.services.runs import Verdict
from recipes.muf import MufRecipe, load_muf_recipe, material_for
from recipes.oven import ExcursionAction
from simulators.press import plant as sim
from simulators.press.faults import parse_fault
from tests.unit.mes.fake_recorder import Recorder

REPO = Path(__file__).resolve().parents[3]
RECIPE = load_muf_recipe(REPO / "recipes" / "library" / "muf-175.toml")
RUN_ID = 11
POLL_S = 1.0  # seconds between polls, on the fake clock
WAFERS = ("L1-W01", "L1-W02", "L1-W03")


class Clock:
    """Time that moves only when the supervisor sleeps; the plant moves with it."""

    speed = 1.0

    def __init__(self, plant: sim.PressPlant) -> None:
        self.t = 0.0
        self.plant = plant

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.plant.advance(seconds)
        await asyncio.sleep(0)


class PlantPress:
    """A MoldingPress over the simulator's plant, without the network."""

    tool_id = "PRESS-01"

    def __init__(self, plant: sim.PressPlant) -> None:
        self.plant = plant
        self.aborted = False

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def load_job(self, job: PressJob) -> None:
        self.plant.load_job(sim.PressJob(**{k: getattr(job, k) for k in job.__slots__}))

    async def start(self) -> None:
        self.plant.start()

    async def abort(self) -> None:
        self.aborted = True
        self.plant.abort()

    async def reset(self) -> None:
        self.plant.reset()

    async def read(self) -> PressSnapshot:
        r = self.plant.readings()
        return PressSnapshot(
            JobStatus(int(r.job_status)),
            int(r.production_status),
            CycleState(int(r.cycle_state)),
            r.alarm_bits,
            r.run_id,
            r.cycle_time_s,
            r.job_time_s,
            r.current_cycle,
            r.cycles,
            r.good_cycles,
            r.bad_cycles,
            r.last_cycle_time_s,
            r.platen_top_c,
            r.platen_bottom_c,
            r.clamp_force_kn,
            r.transfer_pressure_mpa,
            r.ram_position_mm,
        )

    def stream(self) -> object:
        raise NotImplementedError("the supervisor polls")


async def run_job(recipe: MufRecipe, *faults: str) -> tuple[Verdict, PlantPress, Recorder]:
    plant = sim.PressPlant(faults=[parse_fault(f) for f in faults], seed=3)
    plant.advance(1800.0)  # the platens heat up before the first job
    press, recorder = PlantPress(plant), Recorder()
    material = material_for(recipe)
    sup = PressRunSupervisor(
        press,  # type: ignore[arg-type]
        recipe,
        material.kinetics,
        material.name,
        RUN_ID,
        WAFERS,
        recorder,
        Clock(plant),
        POLL_S,
    )
    assert await sup.start()
    verdict = await asyncio.wait_for(sup.supervise(), timeout=30)
    assert recorder.verdict == verdict
    return verdict, press, recorder


class TestCleanJob:
    async def test_every_wafer_molds_to_the_plants_alpha(self) -> None:
        """Three cycles, no fault: passed, each wafer's α within 0.02 of the plant's truth."""
        verdict, press, _ = await run_job(RECIPE)
        truth = press.plant.cycle_truth()
        assert verdict.passed and not verdict.aborted, verdict.reasons
        assert [c.wafer_id for c in verdict.cures] == list(WAFERS)
        for cure, cycle in zip(verdict.cures, truth, strict=True):
            assert cure.alpha_after == pytest.approx(cycle.alpha_end, abs=0.02)
        assert verdict.qtime_h == RECIPE.qtime_to_pmc_h


class TestExcursionPolicy:
    FAULT = "pressure_loss:cycle=2"

    async def test_hold_at_end_finishes_the_job_and_holds(self) -> None:
        """muf-175 (hold_at_end): the job runs all cycles; the verdict names cycle 2."""
        assert RECIPE.on_excursion is ExcursionAction.HOLD_AT_END
        verdict, press, recorder = await run_job(RECIPE, self.FAULT)
        assert not press.aborted and not verdict.aborted
        assert not verdict.passed
        assert "cycle 2 (L1-W02)" in verdict.reasons[0]
        assert len(press.plant.cycle_truth()) == 3
        assert any(kind == "excursion" for kind, _, _ in recorder.alarms)

    async def test_abort_stops_the_press_at_the_first_excursion(self) -> None:
        """The same fault under on_excursion = abort: the press is aborted in cycle 2, the run
        ends aborted with the excursion as the reason, and cycle 3 never runs."""
        aborting = RECIPE.model_copy(update={"on_excursion": ExcursionAction.ABORT})
        verdict, press, _ = await run_job(aborting, self.FAULT)
        assert press.aborted and verdict.aborted and not verdict.passed
        assert verdict.reasons[0].startswith("aborted on excursion: ")
        assert "cycle 2" in verdict.reasons[0]
        assert press.plant.job_status is sim.JobStatus.INTERRUPTED
        assert [c.cycle for c in press.plant.cycle_truth()] == [1, 2]


async def test_a_short_in_mold_cure_leaves_alpha_below_the_mold_target() -> None:
    """A recipe whose in-mold cure is too short: no excursion, but every wafer's α is
    below alpha_after_mold, and the verdict gives each computed α."""
    transfer = RECIPE.transfer.model_copy(update={"cure_time_s": 20.0})
    short = RECIPE.model_copy(update={"transfer": transfer})
    verdict, _, recorder = await run_job(short)
    assert not verdict.passed
    assert recorder.alarms == []
    target = RECIPE.targets.alpha_after_mold
    assert len(verdict.reasons) == 3
    for cure, reason in zip(verdict.cures, verdict.reasons, strict=True):
        assert cure.alpha_after < target
        below = f"α = {cure.alpha_after:.3f} after molding, below {target:g}"
        assert reason == f"{cure.wafer_id}: {below}"
