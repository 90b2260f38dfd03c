"""A lot walks the whole InFO/WMCM route: manual steps by the CLI, the rest on the simulators."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mes.daemon.config import DaemonSection, LineConfig, LineSection, OpcUaSecurity, ToolSection
from mes.daemon.runner import Daemon
from mes.services import ledger, plating, qualification, reads, recipes, routes, tools, users
from simulators.oven.server import OvenSimulator
from simulators.plater.server import PlaterSimulator
from simulators.press.server import PressSimulator
from tests.helpers import PASSWORDS, Cli
from tests.system.conftest import wait_for

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
TOOL_FOR = {"molding_press": "PRESS-01", "cure_oven": "OVEN-01", "plating_tool": "PLATER-01"}


def security(cert: Path | None, client: Path, env: str) -> OpcUaSecurity:
    assert cert is not None
    return OpcUaSecurity(server_cert=cert, client_cert_dir=client, username="mes", password_env=env)


@pytest.fixture
def route_line(line: Engine) -> Engine:
    for name in ("muf-175", "rdl-cu-5um"):
        row = recipes.import_file(line, "eng1", REPO / "recipes" / "library" / f"{name}.toml")
        recipes.approve(line, "eng1", row.name, row.version)
    routes.import_file(line, "eng1", REPO / "deploy" / "routes" / "info-wmcm.toml")
    tools.register(line, "equipment", "PRESS-01", "molding_press")
    tools.register(line, "equipment", "PLATER-01", "plating_tool")
    qualification.qualify(line, "eng1", "PRESS-01", "MOLD")
    qualification.qualify(line, "eng1", "PLATER-01", "PLATE")  # both RDL layers
    return line


async def test_lot_walks_info_wmcm_with_two_rdl_layers(
    route_line: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every step in order; each wafer ends with its mold/PMC/PI cures and both plated layers."""
    if route_line.dialect.name != "sqlite":
        pytest.skip("the CLI half of this test addresses the SQLite file")
    users.set_password(route_line, "admin", "op1", PASSWORDS["op1"])
    cli = Cli(["--db", str(route_line.url)], monkeypatch)
    monkeypatch.setenv("PKGLINE_TEST_PW", "s3cret")
    opc_users = {"mes": "s3cret"}
    press = PressSimulator("127.0.0.1", 0, speed=100, cert_dir=tmp_path / "press", users=opc_users)
    plater = PlaterSimulator(
        "127.0.0.1", 0, speed=100, cert_dir=tmp_path / "plater", users=opc_users
    )
    oven = OvenSimulator("127.0.0.1", 0, speed=3000, seed=9)
    for sim in (press, plater, oven):
        await sim.start()
    client = tmp_path / "client"
    config = LineConfig(
        line=LineSection(name="test"),
        daemon=DaemonSection(
            poll_interval_s=0.02,
            idle_poll_interval_s=0.2,
            claim_interval_s=0.05,
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
                security=security(press.server_cert_path, client, "PKGLINE_TEST_PW"),
            ),
            ToolSection(
                id="OVEN-01",
                type="cure_oven",
                protocol="modbus",
                host="127.0.0.1",
                port=oven.port,
                timeout_s=0.5,
            ),
            ToolSection(
                id="PLATER-01",
                type="plating_tool",
                protocol="opcua",
                host="127.0.0.1",
                port=plater.port,
                timeout_s=2.0,
                security=security(plater.server_cert_path, client, "PKGLINE_TEST_PW"),
            ),
        ],
    )
    daemon = Daemon(config, route_line)
    task = asyncio.create_task(daemon.run())
    walked: list[str] = []
    try:
        await wait_for(lambda: all(t.online for t in reads.tools(route_line)), what="tools online")
        assert cli("op1", "lot", "create", "W1", "--route", "info-wmcm", "--wafers", "2") == 0
        while True:
            row = reads.lot(route_line, "W1")
            assert row is not None
            if row.status == "finished":
                break
            assert not row.on_hold, f"{row.step}: {row.hold_reason}"
            walked.append(row.step)
            if row.tool_type is None:
                assert cli("op1", "lot", "track-in", "W1") == 0
                assert cli("op1", "lot", "track-out", "W1") == 0
            else:
                assert cli("op1", "lot", "track-in", "W1", "--tool", TOOL_FOR[row.tool_type]) == 0
                step = row.step
                await wait_for(
                    lambda step=step: (
                        (r := reads.lot(route_line, "W1")) is not None
                        and (r.step != step or r.on_hold or r.status == "finished")
                    ),
                    timeout_s=120,
                    what=f"{step} to end",
                )
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 10)
        for sim in (press, plater, oven):
            await sim.stop()
    route = [
        s.name for s in routes.read_route_file(REPO / "deploy" / "routes" / "info-wmcm.toml").steps
    ]
    assert walked == route
    for wafer in ledger.cure_states(route_line, "W1"):
        assert wafer.cures == 4  # mold, PMC, two polyimide cures
        assert (wafer.alpha or 0) >= 0.95
        steps = [e.step for e in ledger.history(route_line, wafer.wafer_id)]
        assert steps == ["MOLD", "PMC", "RDL1.PI_CURE", "RDL2.PI_CURE"]
    plated = plating.records_of(route_line, "W1")
    assert sorted((p.wafer_id, p.step) for p in plated) == [
        ("W1-W01", "RDL1.PLATE"),
        ("W1-W01", "RDL2.PLATE"),
        ("W1-W02", "RDL1.PLATE"),
        ("W1-W02", "RDL2.PLATE"),
    ]
    assert all(4.6 <= p.thickness_um <= 5.4 for p in plated)
    # One wafer's complete record, as `pkgline wafer show` prints it (JSON).
    capsys.readouterr()
    assert cli("op1", "--json", "wafer", "show", "W1-W02") == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["step"] for e in shown["thermal"]] == [
        "MOLD",
        "PMC",
        "RDL1.PI_CURE",
        "RDL2.PI_CURE",
    ]
    assert [p["step"] for p in shown["plating"]] == ["RDL1.PLATE", "RDL2.PLATE"]
    assert {p["wafer_id"] for p in shown["plating"]} == {"W1-W02"}
