"""Subscriptions that survive reconnects, read in asyncua's iterator mode.

Each object owns one asyncua `Subscription` per session. The consumer's own
`await` drives everything: no task per notification and no pump task. When a
session dies, asyncua (or the transport) puts a Bad status change into the
old subscription's queue; the consumer drains what was queued before it,
then waits for the transport to reconnect and moves on to the subscription
the transport re-created on the new session (or creates one itself).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from asyncua import ua
from asyncua.common.subscription import (
    DataChangeEvent,
    OpcEvent,
    OverflowPolicy,
    StatusChangeEvent,
    SubEvent,
    Subscription,
)
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes

from drivers.core.errors import ProtocolError, ToolUnavailable
from drivers.opcua.values import OpcUaEvent

if TYPE_CHECKING:
    from drivers.opcua.transport import Connection, OpcUaTransport

log = structlog.get_logger(__name__)

MIN_RETRY_SLEEP_S = 0.02  # clock seconds between attempts when no backoff is pending
# Real seconds between attempts at least: the backoff runs on the transport's clock,
# and a fast scaled clock (a demo at --speed 3000) would otherwise make this a spin.
MIN_RETRY_REAL_S = 0.01


@dataclass(eq=False)
class Installed:
    """One asyncua subscription on one session, with the ids the caller used."""

    conn: Connection
    sub: Subscription
    names: dict[str, str]  # resolved node id string -> the caller's node id string


async def _delete_quietly(sub: Subscription, timeout_s: float) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(timeout_s):
            await sub.delete()


class Resubscribing:
    """The reconnect logic shared by data and event subscriptions."""

    def __init__(self, transport: OpcUaTransport, period_ms: float, queue_size: int) -> None:
        if period_ms <= 0:
            raise ValueError(f"period_ms must be > 0, got {period_ms}")
        self._transport = transport
        self.period_ms = period_ms
        self._queue_size = queue_size
        self._current: Installed | None = None
        self._pending: Installed | None = None  # made by the transport on a new session
        self._closed = False
        # How long to wait on a quiet queue before checking the session is still alive
        # (a fallback: a loss normally arrives as a status change right away).
        self._liveness_s = max(1.0, 4 * period_ms / 1000)
        self.resubscriptions = 0  # sessions this subscription was re-created on

    @property
    def closed(self) -> bool:
        return self._closed

    async def _install(self, conn: Connection) -> Installed:
        raise NotImplementedError

    async def _create(self, conn: Connection) -> Subscription:
        return await conn.client.create_subscription(
            self.period_ms,
            None,  # no handler: iterator mode
            queue_maxsize=self._queue_size,
            overflow=OverflowPolicy.DROP_OLDEST,
        )

    async def start(self) -> None:
        conn = await self._transport.connection()
        self._current = await self._install(conn)
        self._transport.register(self)

    async def prepare(self, conn: Connection) -> None:
        """Called by the transport on a new session: re-create this subscription there."""
        if self._closed:
            return
        installed = await self._install(conn)
        if self._closed:
            await _delete_quietly(installed.sub, self._transport.timeout_s)
            return
        stale, self._pending = self._pending, installed
        if stale is not None and stale.conn.alive:
            await _delete_quietly(stale.sub, self._transport.timeout_s)

    async def close(self) -> None:
        """Delete the subscription on the tool and end iteration."""
        if self._closed:
            return
        self._closed = True
        self._transport.unregister(self)
        for installed in (self._current, self._pending):
            if installed is not None:
                # delete() also ends a consumer blocked in the iterator.
                await _delete_quietly(installed.sub, self._transport.timeout_s)
        self._current = self._pending = None

    async def __aenter__(self) -> Resubscribing:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _attach(self) -> None:
        """Wait (through the transport's backoff) for a session and a subscription on it."""
        transport = self._transport
        while not self._closed:
            try:
                conn = await transport.connection(resume=True)
                if self._closed:
                    return
                pending, self._pending = self._pending, None
                if pending is not None and pending.conn is conn:
                    self._current = pending
                else:
                    self._current = await self._install(conn)
                if self._closed:  # closed while installing: undo it
                    await _delete_quietly(self._current.sub, transport.timeout_s)
                    self._current = None
                    return
            except ToolUnavailable as exc:
                log.debug("opcua_subscription_waiting", tool=transport.name, error=str(exc))
                await transport.clock.sleep(max(transport.retry_in_s, MIN_RETRY_SLEEP_S))
                await asyncio.sleep(MIN_RETRY_REAL_S)
                continue
            self.resubscriptions += 1
            log.info(
                "opcua_resubscribed",
                tool=transport.name,
                session=self._current.conn.generation,
                resubscriptions=self.resubscriptions,
            )
            return

    async def _abandon(self, current: Installed, reason: str) -> None:
        if self._current is current:
            self._current = None
        log.debug("opcua_subscription_abandoned", tool=self._transport.name, reason=reason)
        if current.conn.alive:
            # The session lives on but this subscription died on the server (e.g. its
            # lifetime expired): clean it up; _attach makes a new one on the same session.
            await _delete_quietly(current.sub, self._transport.timeout_s)

    async def _next(self, *, wait: bool) -> tuple[Installed, SubEvent] | None:
        """The next data/event notification; with wait=False only one already queued."""
        while True:
            if self._closed:
                raise StopAsyncIteration
            current = self._current
            if current is None:
                if not wait:
                    return None
                await self._attach()
                continue
            try:
                # asyncio.Queue.get() returns without suspending when an item is queued,
                # so a zero timeout fires only on an empty queue: a non-blocking take.
                async with asyncio.timeout(self._liveness_s if wait else 0):
                    event = await current.sub.next_event()
                if event is None:  # only with a timeout argument, which we never pass
                    continue
            except TimeoutError:
                if not current.conn.alive:
                    await self._abandon(current, "session gone")
                    continue
                if not wait:
                    return None
                continue
            except StopAsyncIteration:  # deleted under us (close, or session teardown)
                await self._abandon(current, "subscription deleted")
                continue
            if isinstance(event, StatusChangeEvent):
                status = event.notification.Status
                if status is not None and status.is_bad():
                    if status.value == StatusCodes.BadShutdown:
                        self._transport.lost(current.conn, "session shut down")
                    await self._abandon(current, status.name)
                continue
            return current, event


class DataSubscription(Resubscribing):
    """Value changes of a set of nodes, as (node_id, value) with the caller's node ids."""

    def __init__(
        self,
        transport: OpcUaTransport,
        node_ids: tuple[str, ...],
        period_ms: float,
        queue_size: int,
    ) -> None:
        if not node_ids:
            raise ValueError("subscribe to at least one node")
        super().__init__(transport, period_ms, queue_size)
        self.node_ids = node_ids
        self._buffer: collections.deque[tuple[str, Any]] = collections.deque()

    async def _install(self, conn: Connection) -> Installed:
        transport = self._transport
        ids = [conn.resolve(n) for n in self.node_ids]
        with transport.mapped_errors(conn, f"subscribe to {len(ids)} nodes"):
            sub = await self._create(conn)
            try:
                results = await sub.subscribe_data_change(
                    [conn.client.get_node(i) for i in ids],
                    sampling_interval=ua.Double(self.period_ms),
                )
            except BaseException:
                await _delete_quietly(sub, transport.timeout_s)
                raise
        bad = [
            f"{node}: {r.name}"
            for node, r in zip(self.node_ids, results, strict=True)
            if isinstance(r, ua.StatusCode)
        ]
        if bad:
            await _delete_quietly(sub, transport.timeout_s)
            raise ProtocolError(f"{transport.name}: cannot subscribe to {'; '.join(bad)}")
        names = {i.to_string(): n for i, n in zip(ids, self.node_ids, strict=True)}
        return Installed(conn, sub, names)

    def _convert(self, installed: Installed, event: DataChangeEvent) -> tuple[str, Any]:
        key = event.node.nodeid.to_string()
        node = installed.names.get(key, key)
        value = event.data.monitored_item.Value
        status = value.StatusCode if value is not None else None
        if status is not None and status.is_bad():
            raise ProtocolError(f"{self._transport.name}: {node} reports {status.name}")
        return node, event.value

    async def next_batch(self) -> list[tuple[str, Any]]:
        """Wait for at least one change, then take every change already queued.

        A publish response arrives as one burst, so a batch is usually one publish:
        a driver builds one snapshot per batch instead of one per value. A Bad status
        on a value raises `ProtocolError` naming the node; iterating again continues.
        """
        batch = list(self._buffer)
        self._buffer.clear()
        wait = not batch
        while True:
            got = await self._next(wait=wait)
            if got is None:
                return batch
            installed, event = got
            if isinstance(event, DataChangeEvent):
                batch.append(self._convert(installed, event))
                wait = False

    def __aiter__(self) -> DataSubscription:
        return self

    async def __anext__(self) -> tuple[str, Any]:
        if not self._buffer:
            self._buffer.extend(await self.next_batch())
        return self._buffer.popleft()


class EventSubscription(Resubscribing):
    """Events emitted by one source node (BaseEventType and subtypes)."""

    def __init__(
        self, transport: OpcUaTransport, source: str, period_ms: float, queue_size: int
    ) -> None:
        super().__init__(transport, period_ms, queue_size)
        self.source = source

    async def _install(self, conn: Connection) -> Installed:
        transport = self._transport
        node = conn.resolve(self.source)
        with transport.mapped_errors(conn, f"subscribe to events of {self.source}"):
            sub = await self._create(conn)
            try:
                await sub.subscribe_events(sourcenode=node, evtypes=ObjectIds.BaseEventType)
            except BaseException:
                await _delete_quietly(sub, transport.timeout_s)
                raise
        return Installed(conn, sub, {node.to_string(): self.source})

    def __aiter__(self) -> EventSubscription:
        return self

    async def __anext__(self) -> OpcUaEvent:
        while True:
            got = await self._next(wait=True)
            assert got is not None
            _, event = got
            if isinstance(event, OpcEvent):
                return self._convert(event)

    def _convert(self, event: OpcEvent) -> OpcUaEvent:
        fields = {k: v.Value for k, v in event.event.get_event_props_as_fields_dict().items()}
        message = fields.get("Message")
        event_type = fields.get("EventType")
        return OpcUaEvent(
            source=self.source,
            source_name=str(fields.get("SourceName") or ""),
            event_type=event_type.to_string() if isinstance(event_type, ua.NodeId) else "",
            severity=int(fields.get("Severity") or 0),
            message=message.Text or ""
            if isinstance(message, ua.LocalizedText)
            else str(message or ""),
            time=fields.get("Time"),
            fields=fields,
        )
