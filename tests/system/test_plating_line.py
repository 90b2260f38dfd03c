"""Lots plated on the simulated Cu plating tool over OPC UA, supervised by the daemon."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mes.daemon.config import LineConfig, LineSection
from mes.domain.errors import InvalidState
from mes.services import lots, plating, qualification, reads, recipes, routes, runs, tools
from simulators.plater.server import PlaterSimulator
from tests.system.conftest import (
    RunningDaemon,
    fast_daemon,
    opcua_tool,
    run_daemon,
    step_of,
    wait_for,
)

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[2]
PASSWORD_ENV = "PKGLINE_TEST_PLATER_PASSWORD"
ROUTE = """
name = "plate-only"
[[steps]]
name = "SEED"
qtime_to = "PLATE"
qtime_h = 8.0
[[steps]]
name = "PLATE"
tool_type = "plating_tool"
recipe = "rdl-cu-5um"
[[steps]]
name = "STRIP"
"""


@pytest.fixture
async def plater(tmp_path: Path) -> AsyncIterator[PlaterSimulator]:
    sim = PlaterSimulator(
        "127.0.0.1",
        0,
        speed=50.0,
        cert_dir=tmp_path / "pki" / "server",
        users={"mes": "s3cret-plater"},
        seed=7,
    )
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def plate_line(line: Engine, tmp_path: Path) -> Engine:
    row = recipes.import_file(line, "eng1", REPO / "recipes" / "library" / "rdl-cu-5um.toml")
    recipes.approve(line, "eng1", row.name, row.version)
    route = tmp_path / "plate-only.toml"
    route.write_text(ROUTE)
    routes.import_file(line, "eng1", route)
    tools.register(line, "equipment", "PLATER-01", "plating_tool")
    qualification.qualify(line, "eng1", "PLATER-01", "PLATE", "rdl-cu-5um")
    return line


async def start_daemon(
    engine: Engine,
    sim: PlaterSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bath_limit_ah: float | None = None,
) -> RunningDaemon:
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-plater")
    tool = opcua_tool(
        "PLATER-01",
        "plating_tool",
        sim.port,
        sim.server_cert_path,
        tmp_path / "pki" / "client",
        PASSWORD_ENV,
        bath_limit_ah=bath_limit_ah,
    )
    config = LineConfig(line=LineSection(name="test"), daemon=fast_daemon(), tools=[tool])
    return await run_daemon(
        engine,
        config,
        lambda: any(t.id == "PLATER-01" and t.online for t in reads.tools(engine)),
        "the plater online",
    )


def to_plate(engine: Engine, lot_id: str, wafers: int) -> None:
    """A new lot through SEED (manual; it starts the Q-time clock), waiting at PLATE."""
    lots.create(engine, "op1", lot_id, "plate-only", wafers)
    lots.track_in(engine, "op1", lot_id)
    lots.track_out(engine, "op1", lot_id)


def start_plating(engine: Engine, lot_id: str, wafers: int) -> int:
    """A new lot tracked in on the plater; its run id."""
    to_plate(engine, lot_id, wafers)
    return lots.track_in(engine, "op1", lot_id, "PLATER-01").run_id or 0


async def plate(engine: Engine, lot_id: str, wafers: int) -> None:
    start_plating(engine, lot_id, wafers)
    await wait_for(lambda: step_of(engine, lot_id) != ("PLATE", False), what="plating to end")


class TestPlating:
    async def test_thickness_from_charge_learns_eta_and_matches_truth(
        self,
        plate_line: Engine,
        plater: PlaterSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """After metrology teaches η, the computed thickness agrees with the truth within 2 %."""
        d = await start_daemon(plate_line, plater, tmp_path, monkeypatch)
        try:
            await plate(plate_line, "L1", 2)
            assert step_of(plate_line, "L1") == ("STRIP", False)
            first = plating.records_of(plate_line, "L1")
            assert len(first) == 2
            truth = plater.wafer_truth(first[0].wafer_id)
            # Charge is integrated from the measured current: it matches the true charge.
            assert first[0].charge_c == pytest.approx(truth.charge_c, rel=0.01)
            res = plating.record_metrology(plate_line, "op1", "L1", truth.thickness_um)
            assert res.eta_after == pytest.approx(truth.eta, abs=0.01)
            await plate(plate_line, "L2", 2)
        finally:
            await d.stop()
        for rec in plating.records_of(plate_line, "L2"):
            real = plater.wafer_truth(rec.wafer_id).thickness_um
            assert rec.thickness_um == pytest.approx(real, rel=0.02), rec.wafer_id
            assert rec.eta == pytest.approx(res.eta_after)

    async def test_contact_failure_holds_lot_naming_the_wafer(
        self,
        plate_line: Engine,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A contact failure on one wafer collapses its current: the lot holds naming it."""
        sim = PlaterSimulator(
            "127.0.0.1",
            0,
            speed=50.0,
            cert_dir=tmp_path / "pki" / "server",
            users={"mes": "s3cret-plater"},
            seed=8,
            faults=["contact:cell=2,at=200"],
        )
        await sim.start()
        try:
            d = await start_daemon(plate_line, sim, tmp_path, monkeypatch)
            try:
                await plate(plate_line, "L3", 2)
            finally:
                await d.stop()
        finally:
            await sim.stop()
        step, held = step_of(plate_line, "L3")
        assert (step, held) == ("PLATE", True)
        row = reads.lot(plate_line, "L3")
        assert row is not None
        bad = next(r for r in plating.records_of(plate_line, "L3") if r.cell == 2)
        reason = row.hold_reason or ""
        assert f"{bad.wafer_id}: thickness" in reason
        assert "L3-W01: thickness" not in reason or bad.wafer_id == "L3-W01"
        assert any(
            "contact failure" in a.message and bad.wafer_id in a.message
            for a in reads.alarms(plate_line, lot_id="L3")
        )

    async def test_bath_life_blocks_new_runs_until_maintenance(
        self,
        plate_line: Engine,
        plater: PlaterSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """At its amp-hour limit the tool leaves standby; track-in refused until maintenance."""
        d = await start_daemon(plate_line, plater, tmp_path, monkeypatch, bath_limit_ah=1.0)
        try:
            await plate(plate_line, "L4", 1)
            tool = next(t for t in reads.tools(plate_line) if t.id == "PLATER-01")
            assert tool.e10_state == "scheduled_down"
            to_plate(plate_line, "L5", 1)
            with pytest.raises(InvalidState, match="bath life reached"):
                lots.track_in(plate_line, "op1", "L5", "PLATER-01")
            plating.maintain_bath(plate_line, "op1", "PLATER-01", "bath made up, analysis ok")
            assert lots.track_in(plate_line, "op1", "L5", "PLATER-01").run_id is not None
            await wait_for(lambda: step_of(plate_line, "L5") != ("PLATE", False), what="L5")
        finally:
            await d.stop()
        assert step_of(plate_line, "L5") == ("STRIP", False)


def job_times(sim: PlaterSimulator) -> list[float]:
    return [c.job_time_s for c in sim.readings().cells]


class TestPlatingRestart:
    """A daemon restart mid-run: the new supervisor replays the record and goes on."""

    async def test_restart_mid_deposit_bridges_the_gap_and_finishes(
        self,
        plate_line: Engine,
        plater: PlaterSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Stopped during the constant-current deposit: the charge across the gap is bridged,
        every wafer gets its record, charge matches the truth, the gap is an alarm."""
        d = await start_daemon(plate_line, plater, tmp_path, monkeypatch)
        run_id = start_plating(plate_line, "L6", 4)
        await wait_for(lambda: min(job_times(plater)) > 150, what="both cells in the deposit")
        await d.stop()
        before = len(runs.samples_of(plate_line, run_id))
        stopped_at = max(job_times(plater))
        await wait_for(lambda: min(job_times(plater)) > stopped_at + 100, what="time unwatched")
        d = await start_daemon(plate_line, plater, tmp_path, monkeypatch)
        try:
            await wait_for(lambda: step_of(plate_line, "L6") != ("PLATE", False), what="the end")
        finally:
            await d.stop()
        assert step_of(plate_line, "L6") == ("STRIP", False), reads.lot(plate_line, "L6")
        records = plating.records_of(plate_line, "L6")
        assert sorted(r.wafer_id for r in records) == [f"L6-W0{i}" for i in range(1, 5)]
        for rec in records:
            truth = plater.wafer_truth(rec.wafer_id)
            assert rec.charge_c == pytest.approx(truth.charge_c, rel=0.01), rec.wafer_id
        # The restart left a hole in the first two wafers' current (a loaded machine may
        # leave shorter ones in any wafer); both ends confirmed it, so it was bridged.
        assert {"L6-W01", "L6-W02"} <= {r.wafer_id for r in records if r.gaps}
        assert all(r.unverified_s == 0 for r in records)
        gaps = [a for a in reads.alarms(plate_line, lot_id="L6") if a.kind == "gap"]
        assert len(gaps) == 1 and "supervisor was not running" in gaps[0].message
        assert len(runs.samples_of(plate_line, run_id)) > before

    async def test_wafers_that_finished_unwatched_are_named_for_metrology(
        self,
        plate_line: Engine,
        plater: PlaterSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Stopped until the first wafers ended: their end was not seen, so the lot holds
        naming them; the wafers plated after the restart are fully seen and not named."""
        d = await start_daemon(plate_line, plater, tmp_path, monkeypatch)
        start_plating(plate_line, "L7", 4)
        await wait_for(lambda: min(job_times(plater)) > 150, what="both cells in the deposit")
        await d.stop()
        await wait_for(
            lambda: all(c.state.name == "DONE" for c in plater.readings().cells),
            what="the first wafers to end unwatched",
        )
        d = await start_daemon(plate_line, plater, tmp_path, monkeypatch)
        try:
            await wait_for(lambda: step_of(plate_line, "L7") != ("PLATE", False), what="the end")
        finally:
            await d.stop()
        row = reads.lot(plate_line, "L7")
        assert row is not None and (row.step, row.on_hold) == ("PLATE", True)
        reason = row.hold_reason or ""
        for unseen in ("L7-W01", "L7-W02"):
            assert f"{unseen}: current not confirmed for" in reason, reason
        for seen in ("L7-W03", "L7-W04"):
            assert seen not in reason, reason
        assert len(plating.records_of(plate_line, "L7")) == 4


async def test_a_tool_alarm_while_idle_takes_the_tool_down(
    plate_line: Engine,
    plater: PlaterSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bath overheats with no run on the tool: the daemon raises the tool's alarm once,
    the tool goes unscheduled down and refuses lots until someone sets it back."""
    d = await start_daemon(plate_line, plater, tmp_path, monkeypatch)
    try:
        plater.inject("bath_overtemp")
        await wait_for(
            lambda: any(a.code == "bath_overtemp" for a in reads.alarms(plate_line)),
            what="the idle alarm",
        )
        tool = next(t for t in reads.tools(plate_line) if t.id == "PLATER-01")
        assert tool.e10_state == "unscheduled_down"
        await asyncio.sleep(1.0)  # more idle polls: the alarm is not raised again
        alarms = [a for a in reads.alarms(plate_line) if a.code == "bath_overtemp"]
        assert len(alarms) == 1 and alarms[0].kind == "tool" and alarms[0].run_id is None
        assert "PLATER-01 reports bath over temperature while idle" in alarms[0].message
        to_plate(plate_line, "L8", 1)
        with pytest.raises(InvalidState, match="unscheduled_down"):
            lots.track_in(plate_line, "op1", "L8", "PLATER-01")
        plater.clear("bath_overtemp")
        tools.set_state(plate_line, "eng1", "PLATER-01", "standby", "bath cooled, checked")
        assert lots.track_in(plate_line, "op1", "L8", "PLATER-01").run_id is not None
    finally:
        await d.stop()
