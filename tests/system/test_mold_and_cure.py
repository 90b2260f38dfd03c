"""A lot molded on the simulated press (OPC UA) and post-mold cured in the simulated oven.

The engine's degree of cure, computed from the temperatures each wafer saw,
is compared with the simulators' own EMC physics (written independently).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mes.daemon.config import (
    DaemonSection,
    LineConfig,
    LineSection,
    OpcUaSecurity,
    ToolSection,
)
from mes.daemon.runner import Daemon
from mes.services import ledger, lots, qualification, reads, recipes, routes, tools
from mes.services.tx import transaction
from mes.store.tables import Lot, as_utc, utcnow
from simulators.oven.server import OvenSimulator
from simulators.press.server import PressSimulator
from tests.system.conftest import RunningDaemon, wait_for

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[2]
PASSWORD_ENV = "PKGLINE_TEST_PRESS_PASSWORD"
WAFERS = 2


@pytest.fixture
async def press(tmp_path: Path) -> AsyncIterator[PressSimulator]:
    sim = PressSimulator(
        "127.0.0.1",
        0,
        speed=100.0,
        cert_dir=tmp_path / "pki" / "server",
        users={"mes": "s3cret-press"},
        seed=4,
    )
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def oven() -> AsyncIterator[OvenSimulator]:
    sim = OvenSimulator("127.0.0.1", 0, speed=3000.0, seed=5)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def mold_line(line: Engine) -> Engine:
    """The seeded line plus the MUF recipe, its material, the molding route and the press
    (qualified for MOLD)."""
    row = recipes.import_file(line, "eng1", REPO / "recipes" / "library" / "muf-175.toml")
    recipes.approve(line, "eng1", row.name, row.version)
    routes.import_file(line, "eng1", REPO / "deploy" / "routes" / "fowlp-mold.toml")
    tools.register(line, "equipment", "PRESS-01", "molding_press")
    qualification.qualify(line, "eng1", "PRESS-01", "MOLD")
    return line


async def start_daemon(
    engine: Engine,
    press: PressSimulator,
    oven: OvenSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> RunningDaemon:
    import asyncio

    monkeypatch.setenv(PASSWORD_ENV, "s3cret-press")
    assert press.server_cert_path is not None
    config = LineConfig(
        line=LineSection(name="test"),
        daemon=DaemonSection(
            id="daemon-1",
            poll_interval_s=0.02,
            idle_poll_interval_s=0.2,
            claim_interval_s=0.05,
            lease_ttl_s=5,
            sample_batch=200,
            flush_interval_s=0.2,
        ),
        tools=[
            ToolSection(
                id="PRESS-01",
                type="molding_press",
                protocol="opcua",
                host="127.0.0.1",
                port=press.port,
                timeout_s=2.0,
                security=OpcUaSecurity(
                    server_cert=press.server_cert_path,
                    client_cert_dir=tmp_path / "pki" / "client",
                    username="mes",
                    password_env=PASSWORD_ENV,
                ),
            ),
            ToolSection(
                id="OVEN-01",
                type="cure_oven",
                protocol="modbus",
                host="127.0.0.1",
                port=oven.port,
                timeout_s=0.5,
            ),
        ],
    )
    daemon = Daemon(config, engine)
    task = asyncio.create_task(daemon.run())
    await wait_for(
        lambda: all(t.online and t.lease_owner == "daemon-1" for t in reads.tools(engine)),
        what="both tools online",
    )
    return RunningDaemon(daemon, task)


def step_of(engine: Engine, lot_id: str) -> tuple[str, bool]:
    row = reads.lot(engine, lot_id)
    assert row is not None
    return row.step, row.on_hold


async def mold(engine: Engine, lot_id: str) -> None:
    lots.create(engine, "op1", lot_id, "fowlp-mold", WAFERS)
    lots.track_in(engine, "op1", lot_id)  # PLACE is manual
    lots.track_out(engine, "op1", lot_id)
    lots.track_in(engine, "op1", lot_id, "PRESS-01")
    await wait_for(lambda: step_of(engine, lot_id) != ("MOLD", False), what="molding to end")


class TestMoldAndCure:
    async def test_alpha_matches_the_simulators_through_mold_and_pmc(
        self,
        mold_line: Engine,
        press: PressSimulator,
        oven: OvenSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Each wafer's α after molding and after PMC agrees with the simulated EMC within ±0.02."""
        d = await start_daemon(mold_line, press, oven, tmp_path, monkeypatch)
        try:
            await mold(mold_line, "L1")
            assert step_of(mold_line, "L1") == ("PMC", False)
            truth = press.cycle_truth()
            states = ledger.cure_states(mold_line, "L1")
            assert len(truth) == WAFERS
            for wafer, cycle in zip(states, truth, strict=True):
                assert wafer.alpha == pytest.approx(cycle.alpha_end, abs=0.02), wafer.wafer_id
                assert wafer.tg_c == pytest.approx(cycle.tg_end_c, abs=3.0), wafer.wafer_id
                assert 0.80 <= (wafer.alpha or 0) < 0.95
            # The end of molding starts the recipe's Q-time clock for PMC (24 h).
            with transaction(mold_line) as s:
                lot = s.get(Lot, "L1")
                assert lot is not None and lot.qtime_step == "PMC"
                assert lot.qtime_deadline is not None
                left = as_utc(lot.qtime_deadline) - utcnow()
            assert timedelta(hours=23.9) < left <= timedelta(hours=24)
            oven.load_emc(sum(c.alpha_end for c in truth) / WAFERS)
            lots.track_in(mold_line, "op1", "L1", "OVEN-01")
            await wait_for(lambda: step_of(mold_line, "L1") != ("PMC", False), what="PMC to end")
        finally:
            await d.stop()
        assert step_of(mold_line, "L1") == ("GRIND", False)
        after = ledger.cure_states(mold_line, "L1")
        sim_alpha = oven.load_alpha()
        assert sim_alpha is not None
        for wafer in after:
            assert wafer.alpha == pytest.approx(sim_alpha, abs=0.02)
            assert (wafer.alpha or 0) >= 0.95
            assert wafer.cures == 2
            assert wafer.last_step == "PMC"

    async def test_cold_pmc_holds_with_alpha(
        self,
        mold_line: Engine,
        press: PressSimulator,
        oven: OvenSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A PMC run cold leaves α below the MUF target: the lot holds with the computed α."""
        cold = tmp_path / "pmc-cold.toml"
        text = (REPO / "recipes" / "library" / "pmc-175.toml").read_text()
        cold.write_text(text.replace("version = 1", "version = 2").replace("175.0", "140.0"))
        row = recipes.import_file(mold_line, "eng1", cold)
        recipes.approve(mold_line, "eng1", row.name, row.version)
        d = await start_daemon(mold_line, press, oven, tmp_path, monkeypatch)
        try:
            await mold(mold_line, "L2")
            lots.track_in(mold_line, "op1", "L2", "OVEN-01")
            await wait_for(lambda: step_of(mold_line, "L2") != ("PMC", False), what="PMC to end")
        finally:
            await d.stop()
        step, held = step_of(mold_line, "L2")
        assert (step, held) == ("PMC", True)
        row_lot = reads.lot(mold_line, "L2")
        assert row_lot is not None
        alpha = min(w.alpha or 0 for w in ledger.cure_states(mold_line, "L2"))
        assert alpha < 0.95
        assert f"lowest α = {alpha:.3f}" in (row_lot.hold_reason or "")


class TestPressFaults:
    @pytest.mark.parametrize(
        ("fault", "expected"),
        [
            ("platen_heater:side=top,at=150", "top platen at"),
            ("pressure_loss:cycle=2", "transfer pressure"),
            ("short_fill:cycle=1", "press reports short fill in cycle 1 (L3-W01)"),
        ],
    )
    async def test_fault_holds_lot_naming_what_and_where(
        self,
        mold_line: Engine,
        oven: OvenSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        fault: str,
        expected: str,
    ) -> None:
        """Each press fault raises an alarm and, by the hold-at-end policy, holds the lot."""
        sim = PressSimulator(
            "127.0.0.1",
            0,
            speed=100.0,
            cert_dir=tmp_path / "pki" / "server",
            users={"mes": "s3cret-press"},
            seed=6,
            faults=[fault],
        )
        await sim.start()
        try:
            d = await start_daemon(mold_line, sim, oven, tmp_path, monkeypatch)
            try:
                await mold(mold_line, "L3")
            finally:
                await d.stop()
        finally:
            await sim.stop()
        row = reads.lot(mold_line, "L3")
        assert row is not None
        assert (row.step, row.on_hold) == ("MOLD", True)
        assert expected in (row.hold_reason or "")
        assert any(expected in a.message for a in reads.alarms(mold_line, lot_id="L3"))
