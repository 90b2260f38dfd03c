"""The plating supervisor against the simulator's plating plant, on a fake clock.

The plant is the simulator's own physics (no network): the supervisor's charge is checked
against the plant's truth through ordinary runs, stalls, and daemon restarts, including the
awkward ones (a restart before the last samples were flushed, a second restart, a wafer
loaded but not started, a wafer aborted while nobody watched).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.core.plater import CellSnapshot, CellState, PlaterSnapshot, PlatingStep
from mes.engine.plating.supervisor import PlatingRunSupervisor
from mes.services.runs import Verdict
from recipes.plating import load_plating_recipe
from simulators.plater.plant import PlaterPlant, PlatingJob
from tests.unit.mes.fake_recorder import Recorder

REPO = Path(__file__).resolve().parents[3]
RECIPE = load_plating_recipe(REPO / "recipes" / "library" / "rdl-cu-5um.toml")
RUN_ID = 7
POLL_S = 0.02  # wall seconds between polls


class Clock:
    """Wall time that moves only when the supervisor sleeps (or a test says so); the
    plant runs `speed` times faster."""

    speed = 1.0

    def __init__(self, plant: PlaterPlant, tool_speed: float) -> None:
        self.t = 0.0
        self.plant = plant
        self.tool_speed = tool_speed
        self.deadline: float | None = None  # see `supervise`

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        if self.deadline is not None and self.t >= self.deadline:
            raise Killed
        self.advance(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Wall time passes; the tool plates on."""
        self.t += seconds
        self.plant.advance(seconds * self.tool_speed)


class PlantPlater:
    """The `Plater` capability straight onto the plant."""

    tool_id = "PLATER-01"

    def __init__(self, plant: PlaterPlant) -> None:
        self.plant = plant
        self.cells = len(plant.cells)

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def load(
        self, cell: int, wafer_id: str, run_id: int, steps: Sequence[PlatingStep], ramp_s: float
    ) -> None:
        self.plant.load_job(cell, job(wafer_id, steps, ramp_s))

    async def start(self, cell: int) -> None:
        self.plant.start(cell)

    async def abort(self, cell: int) -> None:
        self.plant.abort(cell)

    async def reset(self, cell: int) -> None:
        self.plant.reset(cell)

    async def read(self) -> PlaterSnapshot:
        r = self.plant.readings()
        cells = tuple(
            CellSnapshot(
                k,
                CellState(int(c.state)),
                c.wafer_id,
                c.run_id,
                c.step,
                c.job_time_s,
                c.current_setpoint_a,
                c.current_a,
                c.voltage_v,
                c.alarm_bits,
            )
            for k, c in enumerate(r.cells, start=1)
        )
        b = r.bath
        return PlaterSnapshot(b.temperature_c, b.agitation_rpm, b.amp_hours, b.alarm_bits, cells)


def job(wafer_id: str, steps: Sequence[PlatingStep], ramp_s: float) -> PlatingJob:
    return PlatingJob(
        wafer_id,
        RUN_ID,
        tuple(s.current_a for s in steps),
        tuple(s.duration_s for s in steps),
        ramp_s,
    )


class Line:
    def __init__(self, wafers: int = 4, cells: int = 2, tool_speed: float = 50.0) -> None:
        self.plant = PlaterPlant(seed=7, cells=cells)
        self.clock = Clock(self.plant, tool_speed)
        self.recorder = Recorder()
        self.wafer_ids = tuple(f"W{i}" for i in range(1, wafers + 1))
        self.started_at = self.clock.now()

    def supervisor(self) -> PlatingRunSupervisor:
        """A supervisor as a (re)started daemon builds it."""
        return PlatingRunSupervisor(
            PlantPlater(self.plant),
            RECIPE,
            RUN_ID,
            self.wafer_ids,
            0.9,
            self.recorder,
            self.clock,
            POLL_S,
        )

    async def start(self) -> PlatingRunSupervisor:
        sup = self.supervisor()
        assert await sup.start()
        self.started_at = self.clock.now()
        return sup

    async def reattach(self) -> PlatingRunSupervisor:
        sup = self.supervisor()
        await sup.reattach(self.started_at)
        return sup

    def truth_c(self, wafer_id: str) -> float:
        return self.plant.wafer_truth(wafer_id).charge_c


class Killed(Exception):
    """The daemon stops here: the supervisor's next sleep never returns."""


async def supervise(sup: PlatingRunSupervisor, wall_s: float = 200.0) -> Verdict | None:
    """Supervise for `wall_s` of wall time: the verdict, or None if the run is still going
    (the supervisor is then stopped, as a killed daemon would be)."""
    clock = sup.clock
    assert isinstance(clock, Clock)
    clock.deadline = clock.t + wall_s
    try:
        return await sup.supervise()
    except Killed:
        return None
    finally:
        clock.deadline = None


def charges(v: Verdict) -> dict[str, float]:
    return {p.wafer_id: p.charge_c for p in v.platings}


async def test_an_ordinary_run_matches_the_plants_charge() -> None:
    line = Line()
    v = await supervise(await line.start())
    assert v is not None and v.passed, v and v.reasons
    assert sorted(charges(v)) == list(line.wafer_ids)
    for wafer_id, q in charges(v).items():
        assert q == pytest.approx(line.truth_c(wafer_id), rel=0.005)
    assert all(p.unverified_s == 0 for p in v.platings)


async def test_a_stall_across_a_step_change_is_bridged_by_the_program() -> None:
    """0.35 s without a poll at ×100 is 35 s of tool time across the strike → deposit
    change: both ends measured on the program, so the hole is confirmed and bridged."""
    line = Line(wafers=2, tool_speed=100.0)
    sup = await line.start()
    assert await supervise(sup, 0.58) is None  # ~58 s into the 60 s strike
    line.clock.advance(0.35)
    v = await supervise(sup)
    assert v is not None and v.passed, v and v.reasons
    for p in v.platings:
        assert p.gaps == 1 and p.unverified_s == 0
        assert p.charge_c == pytest.approx(line.truth_c(p.wafer_id), rel=0.005)


async def test_restart_mid_deposit_goes_on_with_the_charge_seen() -> None:
    line = Line()
    assert await supervise(await line.start(), 5.0) is None  # 250 s into the first wafers
    line.clock.advance(2.0)  # 100 s of tool time with no daemon
    v = await supervise(await line.reattach())
    assert v is not None and v.passed, v and v.reasons
    for wafer_id, q in charges(v).items():
        assert q == pytest.approx(line.truth_c(wafer_id), rel=0.005)
    assert [a[:2] for a in line.recorder.alarms] == [("gap", "gap")]


async def test_wafers_that_ended_unwatched_need_metrology() -> None:
    line = Line(wafers=2)
    assert await supervise(await line.start(), 3.0) is None
    line.clock.advance(14.0)  # both wafers end (DONE) with no daemon
    v = await supervise(await line.reattach())
    assert v is not None and not v.passed
    assert len(v.reasons) == 2
    for p in v.platings:
        assert p.unverified_s > 600
        assert f"{p.wafer_id}: current not confirmed for" in " ".join(v.reasons)


async def test_a_second_restart_replays_what_the_first_settled() -> None:
    """The first daemon dies with its last samples unflushed, after resetting the first
    wafers' cells and starting the next two; the second names the first two once and
    follows the next two; a third daemon replays all of it to the same verdict."""
    line = Line()
    sup = await line.start()
    assert await supervise(sup, 17.0) is None  # W1, W2 done; W3, W4 started
    line.recorder.lose_after(15.9)  # the tail of the first daemon never reached the database
    assert await supervise(await line.reattach(), 3.0) is None
    v = await supervise(await line.reattach())
    assert v is not None and not v.passed
    reasons = sorted(v.reasons)
    assert len(reasons) == 2, reasons
    for reason, (wafer_id, cell) in zip(reasons, (("W1", 1), ("W2", 2)), strict=True):
        assert reason.startswith(f"{wafer_id}: left cell {cell} while no supervisor watched")
    got = charges(v)
    for wafer_id in ("W3", "W4"):
        assert got[wafer_id] == pytest.approx(line.truth_c(wafer_id), rel=0.005)
    left = [p for p in v.platings if p.wafer_id in ("W1", "W2")]
    assert all(p.unverified_s > 0 for p in left)


async def test_a_wafer_loaded_but_not_started_is_plated_once() -> None:
    """One cell: the daemon reset W1's cell and loaded W2, then died before Start."""
    line = Line(wafers=2, cells=1)
    sup = await line.start()
    assert await supervise(sup, 5.0) is None
    line.clock.advance(12.0)  # W1 ends unwatched ...
    line.plant.reset(1)  # ... the old daemon's last acts, never recorded:
    line.plant.load_job(1, job("W2", sup.steps, sup.ramp_s))
    v = await supervise(await line.reattach(), 300.0)
    assert v is not None, "the run must not hang on a loaded cell"
    assert [p.wafer_id for p in v.platings] == ["W1", "W2"]
    assert charges(v)["W2"] == pytest.approx(line.truth_c("W2"), rel=0.005)
    assert [r.split(":")[0] for r in v.reasons] == ["W1"]


async def test_a_wafer_aborted_unwatched_is_named_and_not_plated_again() -> None:
    line = Line()
    assert await supervise(await line.start(), 17.0) is None  # W3, W4 plating
    line.recorder.lose_after(15.9)
    line.plant.abort(1)  # an operator aborts cell 1 at the tool
    aborted = line.plant.wafer_truth("W3")
    v = await supervise(await line.reattach())
    assert v is not None and not v.passed
    assert "W3: cell 1 ended aborted" in v.reasons
    assert [p.wafer_id for p in v.platings].count("W3") == 1
    assert line.plant.wafer_truth("W3") == aborted  # the tool never plated it again
    assert line.plant.readings().cells[0].state.name == "IDLE"
