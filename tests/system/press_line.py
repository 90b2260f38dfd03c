"""A molding line for system tests: a secured press simulator, the seeded line with the
MUF recipe and molding route, and a daemon driving the press and an oven."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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
from mes.services import lots, qualification, reads, recipes, routes, tools
from simulators.oven.server import OvenSimulator
from simulators.press.server import PressSimulator
from tests.system.conftest import RunningDaemon, wait_for

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
