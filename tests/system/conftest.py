"""System-test fixtures: real simulators on 127.0.0.1 and a real daemon on a real database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from mes.daemon.config import DaemonSection, LineConfig, LineSection, OpcUaSecurity, ToolSection
from mes.daemon.runner import Daemon
from mes.services import reads
from simulators.oven.server import OvenSimulator

SPEED = 3000.0  # a 6 h post-mold cure in ~7 s


def fast_daemon(daemon_id: str = "daemon-1") -> DaemonSection:
    """A daemon's timings for tests: fast polls, claims and flushes, a 5 s lease."""
    return DaemonSection(
        id=daemon_id,
        poll_interval_s=0.02,
        idle_poll_interval_s=0.2,
        claim_interval_s=0.05,
        lease_ttl_s=5,
        sample_batch=200,
        flush_interval_s=0.2,
    )


def oven_tool(port: int, tool_id: str = "OVEN-01") -> ToolSection:
    return ToolSection(
        id=tool_id, type="cure_oven", protocol="modbus", host="127.0.0.1", port=port, timeout_s=0.5
    )


def opcua_tool(
    tool_id: str,
    tool_type: str,
    port: int,
    server_cert: Path | None,
    client_cert_dir: Path,
    password_env: str,
    **extra: Any,
) -> ToolSection:
    """An OPC UA tool behind a secured simulator, logged in as user mes."""
    assert server_cert is not None
    return ToolSection(
        id=tool_id,
        type=tool_type,
        protocol="opcua",
        host="127.0.0.1",
        port=port,
        timeout_s=2.0,
        security=OpcUaSecurity(
            server_cert=server_cert,
            client_cert_dir=client_cert_dir,
            username="mes",
            password_env=password_env,
        ),
        **extra,
    )


def line_config(port: int, daemon_id: str = "daemon-1") -> LineConfig:
    return LineConfig(
        line=LineSection(name="test"), daemon=fast_daemon(daemon_id), tools=[oven_tool(port)]
    )


def step_of(engine: Engine, lot_id: str) -> tuple[str, bool]:
    """Where the lot is, and whether it is on hold."""
    row = reads.lot(engine, lot_id)
    assert row is not None
    return row.step, row.on_hold


@dataclass
class RunningDaemon:
    daemon: Daemon
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.daemon.stop()
        await asyncio.wait_for(self.task, 10)


async def start_daemon(engine: Engine, port: int, daemon_id: str = "daemon-1") -> RunningDaemon:
    return await run_daemon(
        engine,
        line_config(port, daemon_id),
        lambda: any(t.lease_owner == daemon_id and t.online for t in reads.tools(engine)),
    )


async def run_daemon(
    engine: Engine, config: LineConfig, ready: Callable[[], bool], what: str = "condition"
) -> RunningDaemon:
    """Run a daemon on `config` until `ready()` (its tools leased and online)."""
    daemon = Daemon(config, engine)
    task = asyncio.create_task(daemon.run())
    await wait_for(ready, what=what)
    return RunningDaemon(daemon, task)


async def wait_for(
    cond: Callable[[], bool], timeout_s: float = 60.0, what: str = "condition"
) -> None:
    """Poll `cond` until true; fail the test on timeout (behaviour, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await asyncio.to_thread(cond):
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def oven() -> AsyncIterator[OvenSimulator]:
    sim = OvenSimulator("127.0.0.1", 0, speed=SPEED, seed=1)
    await sim.start()
    yield sim
    await sim.stop()


@contextlib.asynccontextmanager
async def daemon_on(engine: Engine, port: int) -> AsyncIterator[RunningDaemon]:
    d = await start_daemon(engine, port)
    try:
        yield d
    finally:
        await d.stop()
