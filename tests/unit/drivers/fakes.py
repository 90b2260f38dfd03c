"""Fakes shared by the driver unit tests: a clock, an asyncua client stub, a press image."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from asyncua.client.ua_client import UaClientState

from drivers.molding_press import nodes

NAMESPACES = ["http://opcfoundation.org/UA/", "urn:pkgline:decoy", "urn:pkgline:molding-press"]


class FakeClock:
    speed = 1.0

    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)


class FakeUaClient:
    async def inform_subscriptions(self, status: Any) -> None:
        pass


class FakeClient:
    """Just enough of asyncua's Client for a Connection that is never used on the wire."""

    def __init__(self) -> None:
        self.state = UaClientState.CONNECTED
        self.uaclient = FakeUaClient()
        self.disconnected = False

    async def disconnect(self) -> None:
        self.disconnected = True

    def disconnect_socket(self) -> None:
        self.disconnected = True


def image(**overrides: Any) -> list[Any]:
    """Process values in nodes.PROCESS_VARS order; overrides by node id."""
    values: dict[str, Any] = {
        nodes.JOB_STATUS.node: 2,
        nodes.PRODUCTION_STATUS.node: 3,
        nodes.CYCLE_STATE.node: 3,
        nodes.ALARM_BITS.node: 0,
        nodes.RUN_ID.node: 17,
        nodes.CYCLE_TIME.node: 30.5,
        nodes.JOB_TIME.node: 110.5,
        nodes.CURRENT_CYCLE.node: 2,
        nodes.CYCLES.node: 1,
        nodes.GOOD_CYCLES.node: 1,
        nodes.BAD_CYCLES.node: 0,
        nodes.LAST_CYCLE_TIME.node: 80.0,
        nodes.PLATEN_TOP.node: 175.2,
        nodes.PLATEN_BOTTOM.node: 174.8,
        nodes.CLAMP_FORCE.node: 799.0,
        nodes.TRANSFER_PRESSURE.node: 8.1,
        nodes.RAM_POSITION.node: 50.0,
    }
    values.update(overrides)
    return [values[v.node] for v in nodes.PROCESS_VARS]
