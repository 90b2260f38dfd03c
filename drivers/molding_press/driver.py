"""Molding press driver: the `MoldingPress` capability over the OPC UA node model in `nodes`.

The node ids, methods and limits are data (nodes.py); this module only says
what each capability means on that wire. Every node is named by namespace URI
(`nsu=...;s=Press...`), so the transport resolves the index per session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drivers.core.press import PressAlarm, PressJob, PressSnapshot
from drivers.molding_press import nodes
from drivers.molding_press.codec import (
    LOAD_JOB_ARGS,
    InvalidJob,
    alarm_from_message,
    decode_snapshot,
    job_problems,
    load_job_arguments,
)
from drivers.opcua.transport import OpcUaTransport

ALARM_ON_SEVERITY = 500  # the press sends 700 when an alarm comes on, 100 when it clears


def node_id(var: nodes.Var | str) -> str:
    """The transport's node id for a variable or method of the press namespace."""
    ident = var.node if isinstance(var, nodes.Var) else var
    return f"nsu={nodes.NAMESPACE_URI};s={ident}"


PRESS = node_id(nodes.ROOT)
PROCESS_NODES: tuple[str, ...] = tuple(node_id(v) for v in nodes.PROCESS_VARS)
JOB_NODES: tuple[str, ...] = tuple(node_id(v) for v in nodes.JOB_VARS)


@dataclass(frozen=True, slots=True)
class PressAlarmEvent:
    """An alarm the press announced as an OPC UA event."""

    alarm: PressAlarm | None  # None for a message naming no documented alarm
    active: bool  # came on (True) or cleared (False)
    message: str
    severity: int
    time: datetime | None


class OpcUaPress:
    """A molding press reached over OPC UA (see docs/tools/molding-press.md)."""

    def __init__(
        self, tool_id: str, transport: OpcUaTransport, *, period_ms: float = 250.0
    ) -> None:
        self._tool_id = tool_id
        self.transport = transport
        self.period_ms = period_ms

    @property
    def tool_id(self) -> str:
        return self._tool_id

    async def connect(self) -> None:
        await self.transport.connect()

    async def close(self) -> None:
        await self.transport.close()

    async def load_job(self, job: PressJob) -> None:
        """Check the job against the documented limits, then LoadJob (stamps the run id)."""
        problems = job_problems(job)
        if problems:
            raise InvalidJob(f"{self._tool_id}: job {job.name!r} not sent: {'; '.join(problems)}")
        await self.transport.call(
            PRESS,
            node_id(nodes.METHOD_LOAD_JOB),
            *load_job_arguments(job),
            arg_names=[name for name, _ in LOAD_JOB_ARGS],
        )

    async def start(self) -> None:
        await self.transport.call(PRESS, node_id(nodes.METHOD_START))

    async def abort(self) -> None:
        await self.transport.call(PRESS, node_id(nodes.METHOD_ABORT))

    async def reset(self) -> None:
        await self.transport.call(PRESS, node_id(nodes.METHOD_RESET))

    async def read(self) -> PressSnapshot:
        """All process variables in one Read request."""
        return decode_snapshot(await self.transport.read_many(PROCESS_NODES), self._tool_id)

    async def read_job(self) -> dict[str, Any]:
        """The loaded job's parameter set as the press reports it (nodes.JOB_VARS), by node."""
        values = await self.transport.read_many(JOB_NODES)
        return {var.node: value for var, value in zip(nodes.JOB_VARS, values, strict=True)}

    async def stream(self) -> AsyncIterator[PressSnapshot]:
        """A snapshot per publish of the process-variable subscription.

        Survives reconnects: the transport re-creates the subscription on the new
        session and the values known before the gap are dropped, so no snapshot mixes
        values from both sides of it. Close it (`contextlib.aclosing`) to unsubscribe.
        """
        sub = await self.transport.subscribe(PROCESS_NODES, self.period_ms)
        try:
            latest: dict[str, Any] = {}
            session = sub.resubscriptions
            while True:
                batch = await sub.next_batch()
                if sub.resubscriptions != session:
                    latest.clear()
                    session = sub.resubscriptions
                latest.update(batch)
                if len(latest) == len(PROCESS_NODES):
                    yield decode_snapshot([latest[n] for n in PROCESS_NODES], self._tool_id)
        finally:
            await sub.close()

    async def alarm_events(self) -> AsyncIterator[PressAlarmEvent]:
        """Alarms as the press announces them (events from the Press object)."""
        sub = await self.transport.subscribe_events(PRESS, self.period_ms)
        try:
            async for event in sub:
                bit = alarm_from_message(event.message)
                yield PressAlarmEvent(
                    alarm=PressAlarm(bit) if bit else None,
                    active=event.severity >= ALARM_ON_SEVERITY,
                    message=event.message,
                    severity=event.severity,
                    time=event.time,
                )
        finally:
            await sub.close()
