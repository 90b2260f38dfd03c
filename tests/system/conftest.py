"""System-test fixtures: real simulators on 127.0.0.1 and a real daemon on a real database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine

from mes.daemon.config import DaemonSection, LineConfig, LineSection, ToolSection
from mes.daemon.runner import Daemon
from mes.services import reads
from simulators.oven.server import OvenSimulator

SPEED = 3000.0  # a 6 h post-mold cure in ~7 s


def line_config(port: int, daemon_id: str = "daemon-1") -> LineConfig:
    return LineConfig(
        line=LineSection(name="test"),
        daemon=DaemonSection(
            id=daemon_id,
            poll_interval_s=0.02,
            idle_poll_interval_s=0.2,
            claim_interval_s=0.05,
            lease_ttl_s=5,
            sample_batch=200,
            flush_interval_s=0.2,
        ),
        tools=[
            ToolSection(
                id="OVEN-01",
                type="cure_oven",
                protocol="modbus",
                host="127.0.0.1",
                port=port,
                timeout_s=0.5,
            )
        ],
    )


@dataclass
class RunningDaemon:
    daemon: Daemon
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.daemon.stop()
        await asyncio.wait_for(self.task, 10)


async def start_daemon(engine: Engine, port: int, daemon_id: str = "daemon-1") -> RunningDaemon:
    daemon = Daemon(line_config(port, daemon_id), engine)
    task = asyncio.create_task(daemon.run())
    await wait_for(
        lambda: any(t.lease_owner == daemon_id and t.online for t in reads.tools(engine))
    )
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
