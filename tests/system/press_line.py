"""A molding line for system tests: a secured press simulator, the seeded line with the
MUF recipe and molding route, and a daemon driving the press and an oven."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mes.daemon.config import LineConfig, LineSection
from mes.services import lots, qualification, reads, recipes, routes, tools
from simulators.oven.server import OvenSimulator
from simulators.press.server import PressSimulator
from tests.system.conftest import (
    RunningDaemon,
    fast_daemon,
    opcua_tool,
    oven_tool,
    run_daemon,
    step_of,
    wait_for,
)

__all__ = ["REPO", "WAFERS", "mold", "mold_line", "press", "start_daemon", "step_of"]

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
    """A daemon driving the press and the oven, once both are leased and online."""
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-press")
    client = tmp_path / "pki" / "client"
    press_tool = opcua_tool(
        "PRESS-01", "molding_press", press.port, press.server_cert_path, client, PASSWORD_ENV
    )
    config = LineConfig(
        line=LineSection(name="test"),
        daemon=fast_daemon(),
        tools=[press_tool, oven_tool(oven.port)],
    )
    return await run_daemon(
        engine,
        config,
        lambda: all(t.online and t.lease_owner == "daemon-1" for t in reads.tools(engine)),
        "both tools online",
    )


async def mold(engine: Engine, lot_id: str) -> None:
    lots.create(engine, "op1", lot_id, "fowlp-mold", WAFERS)
    lots.track_in(engine, "op1", lot_id)  # PLACE is manual
    lots.track_out(engine, "op1", lot_id)
    lots.track_in(engine, "op1", lot_id, "PRESS-01")
    await wait_for(lambda: step_of(engine, lot_id) != ("MOLD", False), what="molding to end")
