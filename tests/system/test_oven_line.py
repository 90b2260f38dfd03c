"""A lot cured on the simulated oven over Modbus TCP, supervised by the daemon, end to end."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import Engine

from mes.services import lots, reads, runs
from simulators.oven.server import OvenSimulator
from tests.helpers import lot_at_pmc
from tests.system.conftest import SPEED, daemon_on, start_daemon, wait_for

pytestmark = pytest.mark.system


def lot_left_pmc(engine: Engine, lot_id: str = "L001") -> bool:
    row = reads.lot(engine, lot_id)
    return row is not None and (row.step != "PMC" or row.on_hold)


class TestPostMoldCure:
    async def test_lot_cures_and_tracks_out_with_samples(
        self, line: Engine, oven: OvenSimulator
    ) -> None:
        """pmc-175 runs on the oven; the lot tracks out to GRIND with its samples recorded."""
        async with daemon_on(line, oven.port):
            lot_at_pmc(line)
            res = lots.track_in(line, "op1", "L001", "OVEN-01")
            await wait_for(lambda: lot_left_pmc(line), what="the run to end")
        row = reads.lot(line, "L001")
        assert row is not None
        assert (row.step, row.status, row.on_hold) == ("GRIND", "waiting", False)
        run = reads.runs(line, "L001")[0]
        assert (run.status, run.outcome) == ("completed", "tracked_out")
        samples = runs.samples_of(line, res.run_id or 0)
        times = sorted({s.t_program for s in samples})
        assert times[-1] >= 362 * 60  # the whole program, to the end of the cool-down
        assert len(times) > 100
        assert {s.name for s in samples} >= {"sp_c", "zone1_c", "zone4_c", "o2_ppm", "n2_lpm"}
        assert reads.alarms(line, lot_id="L001") == []
        tool = reads.tools(line)[0]
        assert (tool.e10_state, tool.run_id) == ("standby", None)

    async def test_heater_failure_in_soak_holds_lot(self, line: Engine) -> None:
        """A heater failing mid-soak raises an alarm and holds the lot (zone, band, time)."""
        sim = OvenSimulator(
            "127.0.0.1", 0, speed=SPEED, seed=2, faults=["heater_failure:zone=2,at=9000"]
        )
        await sim.start()
        try:
            async with daemon_on(line, sim.port):
                lot_at_pmc(line)
                lots.track_in(line, "op1", "L001", "OVEN-01")
                await wait_for(lambda: lot_left_pmc(line), what="the run to end")
        finally:
            await sim.stop()
        row = reads.lot(line, "L001")
        assert row is not None
        assert row.on_hold and row.step == "PMC"
        reason = row.hold_reason or ""
        assert "zone 2" in reason
        assert "175.0 ± 3 °C" in reason
        assert "(soak, segment 2)" in reason and "t=" in reason
        assert "guaranteed soak" in reason
        alarms = reads.alarms(line, lot_id="L001")
        assert any(a.code == "band2" for a in alarms)
        assert any(a.kind == "tool" and "heater" in a.message for a in alarms)


class TestRestarts:
    async def test_simulator_killed_mid_run_keeps_the_record(self, line: Engine) -> None:
        """The oven restarting mid-run loses its program: the lot holds, recorded samples stay."""
        sim = OvenSimulator("127.0.0.1", 0, speed=SPEED, seed=3)
        await sim.start()
        port = sim.port
        async with daemon_on(line, port):
            lot_at_pmc(line)
            run_id = lots.track_in(line, "op1", "L001", "OVEN-01").run_id or 0
            await wait_for(lambda: len(runs.samples_of(line, run_id)) > 400, what="samples")
            await sim.stop()
            before = len(runs.samples_of(line, run_id))
            await wait_for(
                lambda: any(a.code == "unreachable" for a in reads.alarms(line)),
                what="the comm alarm",
            )
            sim = OvenSimulator("127.0.0.1", port, speed=SPEED, seed=3)
            await sim.start()
            try:
                await wait_for(lambda: lot_left_pmc(line), what="the run to end")
            finally:
                await sim.stop()
        row = reads.lot(line, "L001")
        assert row is not None
        assert row.on_hold
        assert "no longer carries run" in (row.hold_reason or "")
        assert len(runs.samples_of(line, run_id)) >= before
        assert reads.runs(line, "L001")[0].status == "aborted"

    async def test_daemon_restart_reattaches_and_records_gap(
        self, line: Engine, oven: OvenSimulator
    ) -> None:
        """A daemon stopped during the ramp and started again re-attaches and records the gap.

        The gap falls in the first ramp, so the guaranteed soak is fully seen and the
        lot tracks out; the samples written before the stop are kept.
        """
        d = await start_daemon(line, oven.port)
        lot_at_pmc(line)
        run_id = lots.track_in(line, "op1", "L001", "OVEN-01").run_id or 0
        await wait_for(lambda: len(runs.samples_of(line, run_id)) > 50, what="samples")
        await d.stop()
        before = len(runs.samples_of(line, run_id))
        async with daemon_on(line, oven.port):
            await wait_for(lambda: lot_left_pmc(line), what="the run to end")
        row = reads.lot(line, "L001")
        assert row is not None
        assert (row.step, row.on_hold) == ("GRIND", False), row.hold_reason
        assert len(runs.samples_of(line, run_id)) > before
        gaps = [a for a in reads.alarms(line) if a.kind == "gap"]
        assert len(gaps) == 1
        assert "supervisor was not running" in gaps[0].message
        assert (gaps[0].t_program or 0) < 3600  # still in the first ramp

    async def test_gap_in_soak_holds_lot(self, line: Engine, oven: OvenSimulator) -> None:
        """Soak time the supervisor could not see is not guaranteed: the lot holds, gap named."""
        d = await start_daemon(line, oven.port)
        lot_at_pmc(line)
        run_id = lots.track_in(line, "op1", "L001", "OVEN-01").run_id or 0
        await wait_for(
            lambda: any(s.t_program > 5000 for s in runs.samples_of(line, run_id)), what="the soak"
        )
        await d.stop()
        await asyncio.sleep(0.5)  # 25 min of program time unseen
        async with daemon_on(line, oven.port):
            await wait_for(lambda: lot_left_pmc(line), what="the run to end")
        row = reads.lot(line, "L001")
        assert row is not None
        assert row.on_hold
        assert "guaranteed soak" in (row.hold_reason or "")
        assert [a.kind for a in reads.alarms(line)].count("gap") == 1
