"""`RunRecorder` over mes.services: what the engine records, written by the daemon."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine

from mes.daemon.ingest import SampleBuffer
from mes.domain.errors import LeaseFenced
from mes.engine.recorder import StoredSample
from mes.services import runs, tools
from mes.services.runs import Verdict
from mes.store.tables import utcnow


class LeaseLost(Exception):
    """This daemon's lease on the tool is stale: it must stop recording and driving it."""


class ServiceRecorder:
    """Records one tool's run; every write first checks `holds_lease` (see Daemon.holds)."""

    def __init__(
        self,
        engine: Engine,
        actor: str,
        tool_id: str,
        buffer: SampleBuffer,
        holds_lease: Callable[[], bool],
        lease_owner: str,
    ) -> None:
        """`holds_lease` is this daemon's own view of its lease (its clock); `lease_owner`
        its id, for the database's view: the run's start and end are written only while the
        database still gives it the tool's lease."""
        self.engine = engine
        self.actor = actor
        self.lease_owner = lease_owner
        self.tool_id = tool_id
        self.buffer = buffer
        self.holds_lease = holds_lease
        self.lot_id: str | None = None

    def _check_lease(self) -> None:
        if not self.holds_lease():
            raise LeaseLost(f"tool {self.tool_id}: lease stale or taken by another daemon")

    async def started(self, run_id: int, start_c: float) -> None:
        self._check_lease()
        try:
            await asyncio.to_thread(
                runs.mark_started, self.engine, self.actor, run_id, start_c, self.lease_owner
            )
        except LeaseFenced as exc:
            raise LeaseLost(str(exc)) from exc

    async def samples(self, run_id: int, t_program: float, values: dict[str, float | None]) -> None:
        self._check_lease()
        self.buffer.add(run_id, t_program, utcnow(), values)
        if self.buffer.due():
            await self.buffer.flush()

    async def alarm(
        self, run_id: int, kind: str, code: str, message: str, t_program: float | None
    ) -> None:
        self._check_lease()
        await asyncio.to_thread(
            runs.record_alarm,
            self.engine,
            self.actor,
            tool_id=self.tool_id,
            kind=kind,
            code=code,
            message=message,
            run_id=run_id,
            lot_id=self.lot_id,
            t_program=t_program,
        )

    async def finish(self, run_id: int, verdict: Verdict) -> None:
        # Every sample of the run is in the database before its verdict is.
        self._check_lease()
        await self.buffer.flush()
        while self.buffer.pending:
            await asyncio.sleep(0.5)
            self._check_lease()
            await self.buffer.flush()
        self._check_lease()
        try:
            await asyncio.to_thread(
                runs.finish, self.engine, self.actor, run_id, verdict, self.lease_owner
            )
        except LeaseFenced as exc:
            raise LeaseLost(str(exc)) from exc

    async def stored_samples(self, run_id: int) -> Sequence[StoredSample]:
        await self.buffer.flush()
        rows = await asyncio.to_thread(runs.samples_of, self.engine, run_id)
        return [(r.t_program, r.name, r.value) for r in rows]

    async def publish(self, online: bool, values: dict[str, float | None]) -> None:
        self._check_lease()
        await asyncio.to_thread(
            tools.publish_values, self.engine, self.tool_id, online, dict(values)
        )
