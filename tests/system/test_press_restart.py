"""The press's OPC UA server restarts mid-cycle while the daemon supervises a molding run.

Issue 3, "Reconnect": the driver reconnects, the engine records the gap, nothing
written before the outage is lost and the run goes on to its verdict.

Restart semantics: the simulator's server is stopped and started again on the same
port with the same `PressSimulator` object, so the plant (the loaded job, its run id,
the cycle in progress and the EMC in the cavity) is kept. The physics does not step
while the server is down: the job is paused, not lost, and resumes where it was.
The press then still carries the run, so by muf-175's policy (hold_at_end, excursions
only) a gap inside the cure stage raises no excursion: the lot tracks out to PMC.

The daemon's reconnect backoff runs in real seconds (0.2 s doubling to 10 s) while the
press runs 100x: a few seconds of backoff are minutes of press time. The recipe is
therefore muf-175 with a 900 s in-mold cure (9 s here), so the reconnect lands in the
cure it interrupted whatever the backoff; with the shipped 120 s cure it may land after
the cycle (or the job) ended, and the lot holds instead.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from drivers.core.press import CycleState
from mes.engine.recorder import by_time
from mes.services import ledger, lots, reads, runs
from simulators.oven.server import OvenSimulator
from simulators.press.server import PressSimulator
from tests.helpers import recipe_v2
from tests.system.conftest import wait_for
from tests.system.press_line import WAFERS, start_daemon, step_of

pytestmark = pytest.mark.system

TOOL = "PRESS-01"
LOT = "L1"
CURE = float(CycleState.CURE)
CURE_S = 900.0


def press_online(engine: Engine) -> bool:
    return next(t for t in reads.tools(engine) if t.id == TOOL).online


def alarms_of(engine: Engine, run_id: int, kind: str) -> list[str]:
    return [
        a.message
        for a in reads.alarms(engine, limit=500)
        if a.run_id == run_id and a.tool_id == TOOL and a.kind == kind
    ]


def record(engine: Engine, run_id: int) -> set[tuple[int | None, float, str, float | None]]:
    return {(s.id, s.t_program, s.name, s.value) for s in runs.samples_of(engine, run_id)}


def in_cure_of_first_cycle(engine: Engine, run_id: int) -> bool:
    rows = ((s.t_program, s.name, s.value) for s in runs.samples_of(engine, run_id))
    return any(
        p.get("cycle_state") == CURE and p.get("current_cycle") == 1.0 for _, p in by_time(rows)
    )


class TestPressRestart:
    async def test_server_restart_mid_cure_records_gap_keeps_samples_and_tracks_out(
        self,
        mold_line: Engine,
        press: PressSimulator,
        oven: OvenSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Server stopped during cycle 1's cure and started again on its port: the daemon
        reports the press unreachable, reconnects, records the gap, keeps every sample
        written before it and molds the lot to the end (tracked out to PMC)."""
        recipe_v2(
            mold_line, tmp_path, "muf-175", ("cure_time_s = 120.0", f"cure_time_s = {CURE_S}")
        )
        d = await start_daemon(mold_line, press, oven, tmp_path, monkeypatch)
        try:
            lots.create(mold_line, "op1", LOT, "fowlp-mold", WAFERS)
            lots.track_in(mold_line, "op1", LOT)  # PLACE is manual
            lots.track_out(mold_line, "op1", LOT)
            run_id = lots.track_in(mold_line, "op1", LOT, TOOL).run_id or 0
            await wait_for(
                lambda: in_cure_of_first_cycle(mold_line, run_id), what="cycle 1 in its cure"
            )
            port = press.port
            await press.stop()
            await wait_for(lambda: bool(alarms_of(mold_line, run_id, "comm")), what="comm alarm")
            await wait_for(lambda: not press_online(mold_line), what="the press offline")
            await asyncio.sleep(0.5)  # the sample buffer flushes every 0.2 s
            before = record(mold_line, run_id)
            last_before = max(t for _, t, _, _ in before)
            job_before = press.readings()
            assert job_before.current_cycle == 1  # the outage is mid-cycle
            assert job_before.cycle_time_s < CURE_S / 2  # well inside the cure
            await press.start()
            assert press.port == port
            await wait_for(lambda: press_online(mold_line), what="the press back online")
            await wait_for(lambda: bool(alarms_of(mold_line, run_id, "gap")), what="gap alarm")
            await wait_for(
                lambda: step_of(mold_line, LOT) != ("MOLD", False), what="molding to end"
            )
        finally:
            await d.stop()

        comm = alarms_of(mold_line, run_id, "comm")
        assert len(comm) == 1
        assert TOOL in comm[0]
        gaps = alarms_of(mold_line, run_id, "gap")
        assert len(gaps) == 1
        assert gaps[0].startswith("no samples from ")
        # Nothing written before the outage is lost, and samples arrive after it.
        after = record(mold_line, run_id)
        assert before <= after
        assert any(t > last_before for _, t, _, _ in after - before)
        assert max(t for _, t, _, _ in after) > last_before + CURE_S  # cycle 2 seen too
        # The press kept the job through the restart; the run ends with its verdict.
        assert step_of(mold_line, LOT) == ("PMC", False), reads.lot(mold_line, LOT)
        run = reads.runs(mold_line, LOT)[-1]
        assert (run.status, run.outcome) == ("completed", "tracked_out")
        truth = press.cycle_truth()
        states = ledger.cure_states(mold_line, LOT)
        assert len(truth) == len(states) == WAFERS
        for wafer, cycle in zip(states, truth, strict=True):
            assert wafer.alpha == pytest.approx(cycle.alpha_end, abs=0.02), wafer.wafer_id
