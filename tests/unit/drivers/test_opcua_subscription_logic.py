"""Reconnect logic of transport subscriptions, with fake asyncua subscriptions (no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asyncua import ua
from asyncua.common.node import Node
from asyncua.common.subscription import (
    DataChangeEvent,
    DataChangeNotif,
    StatusChangeEvent,
    SubscriptionItemData,
)
from asyncua.ua.status_codes import StatusCodes

from drivers.core.errors import ProtocolError, ToolUnavailable
from drivers.opcua import OpcUaTransport, SecurityConfig
from drivers.opcua.subscription import DataSubscription, Installed
from drivers.opcua.transport import Connection
from tests.unit.drivers.fakes import NAMESPACES, FakeClient, FakeClock

A = "nsu=urn:pkgline:molding-press;s=Press.A"
B = "nsu=urn:pkgline:molding-press;s=Press.B"


class FakeSub:
    """An asyncua Subscription in iterator mode: a queue, and delete() ends iteration."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.deleted = False

    async def next_event(self) -> Any:
        item = await self.queue.get()
        if item is None:
            raise StopAsyncIteration
        return item

    async def delete(self) -> None:
        self.deleted = True
        self.queue.put_nowait(None)


def change(ident: str, value: Any, status: int = StatusCodes.Good) -> DataChangeEvent:
    nodeid = ua.NodeId(ident, ua.Int16(2))
    item = ua.MonitoredItemNotification(
        ClientHandle=1,
        Value=ua.DataValue(ua.Variant(value), StatusCode=ua.StatusCode(ua.UInt32(status))),
    )
    return DataChangeEvent(
        node=Node(None, nodeid),  # type: ignore[arg-type]
        value=value,
        data=DataChangeNotif(SubscriptionItemData(), item),
    )


def shutdown() -> StatusChangeEvent:
    status = ua.StatusCode(ua.UInt32(StatusCodes.BadShutdown))
    return StatusChangeEvent(notification=ua.StatusChangeNotification(Status=status))


class Harness:
    """A transport whose sessions and subscriptions are fakes the test drives."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clock = FakeClock()
        self.transport = OpcUaTransport(
            "opc.tcp://127.0.0.1:4840/x",
            security=SecurityConfig.insecure(),
            clock=self.clock,
            name="PRESS-01",
        )
        self.conns: list[Connection] = []
        self.subs: list[FakeSub] = []
        self.down = False
        self.lost: list[str] = []
        self.new_session()

        async def connection(*, resume: bool = False) -> Connection:
            if self.down:
                raise ToolUnavailable("down")
            return self.conns[-1]

        def lost(conn: Connection, reason: str) -> None:
            conn.retired = True
            self.lost.append(reason)

        async def install(sub: DataSubscription, conn: Connection) -> Installed:
            fake = FakeSub()
            self.subs.append(fake)
            names = {conn.resolve(n).to_string(): n for n in sub.node_ids}
            return Installed(conn, fake, names)  # type: ignore[arg-type]

        monkeypatch.setattr(self.transport, "connection", connection)
        monkeypatch.setattr(self.transport, "lost", lost)
        monkeypatch.setattr(DataSubscription, "_install", install)

    def new_session(self) -> Connection:
        conn = Connection(FakeClient(), len(self.conns) + 1, list(NAMESPACES), "PRESS-01")  # type: ignore[arg-type]
        self.conns.append(conn)
        return conn


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Harness:
    return Harness(monkeypatch)


class TestDataSubscription:
    async def test_batch_takes_what_is_queued_without_waiting(self, harness: Harness) -> None:
        """next_batch returns every change already queued, then waits for the next."""
        sub = await harness.transport.subscribe([A, B], 100)
        for event in (change("Press.A", 1), change("Press.B", 2), change("Press.A", 3)):
            harness.subs[0].queue.put_nowait(event)
        assert await sub.next_batch() == [(A, 1), (B, 2), (A, 3)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sub.next_batch(), 0.1)
        await sub.close()
        assert harness.subs[0].deleted

    async def test_iteration_yields_changes_in_order(self, harness: Harness) -> None:
        sub = await harness.transport.subscribe([A, B], 100)
        harness.subs[0].queue.put_nowait(change("Press.B", 5))
        harness.subs[0].queue.put_nowait(change("Press.A", 6))
        assert [await anext(sub), await anext(sub)] == [(B, 5), (A, 6)]
        await sub.close()

    async def test_shutdown_moves_to_the_resubscribed_session(self, harness: Harness) -> None:
        """Changes queued before a loss are delivered, then the new session's subscription."""
        sub = await harness.transport.subscribe([A], 100)
        old = harness.subs[0]
        old.queue.put_nowait(change("Press.A", 1))
        old.queue.put_nowait(shutdown())
        assert await sub.next_batch() == [(A, 1)]
        assert harness.lost == ["session shut down"]

        harness.down = True
        waiting = asyncio.create_task(sub.next_batch())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # waiting out the outage, not failing
        conn = harness.new_session()
        await sub.prepare(conn)  # what the transport does on its new session
        harness.down = False
        harness.subs[-1].queue.put_nowait(change("Press.A", 9))
        assert await asyncio.wait_for(waiting, 5) == [(A, 9)]
        assert sub.resubscriptions == 1
        assert len(harness.subs) == 2  # the prepared subscription was used, not a third
        await sub.close()

    async def test_close_during_outage_does_not_resubscribe(self, harness: Harness) -> None:
        """A subscription closed while it waits out an outage ends; nothing is re-created."""
        sub = await harness.transport.subscribe([A], 100)
        harness.subs[0].queue.put_nowait(shutdown())
        harness.down = True
        consumer = asyncio.create_task(sub.next_batch())
        await asyncio.sleep(0.05)
        await sub.close()
        harness.down = False
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(consumer, 1)
        assert len(harness.subs) == 1

    async def test_bad_value_status_names_the_node(self, harness: Harness) -> None:
        sub = await harness.transport.subscribe([A], 100)
        harness.subs[0].queue.put_nowait(change("Press.A", None, StatusCodes.BadSensorFailure))
        with pytest.raises(ProtocolError, match=r"Press\.A reports BadSensorFailure"):
            await sub.next_batch()
        await sub.close()

    async def test_close_ends_a_waiting_consumer(self, harness: Harness) -> None:
        sub = await harness.transport.subscribe([A], 100)
        consumer = asyncio.create_task(anext(sub))
        await asyncio.sleep(0.01)
        await sub.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(consumer, 1)

    async def test_period_must_be_positive(self, harness: Harness) -> None:
        with pytest.raises(ValueError, match="period_ms"):
            await harness.transport.subscribe([A], 0)
