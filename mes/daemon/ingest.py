"""Batched sample ingest, store-and-forward: rows wait in memory until the database takes them."""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from mes.services.runs import SampleRow, write_samples

log = structlog.get_logger(__name__)


class SampleBuffer:
    """Collects sample rows and writes them in batches off the event loop."""

    def __init__(self, engine: Engine, batch: int = 500, max_buffer: int = 1_000_000) -> None:
        self.engine = engine
        self.batch = batch
        self.max_buffer = max_buffer
        self._rows: list[SampleRow] = []
        self._lock = asyncio.Lock()
        self.written = 0
        self.failures = 0

    def add(
        self, run_id: int, t_program: float, ts: datetime, values: dict[str, float | None]
    ) -> None:
        for name, value in values.items():
            self._rows.append((run_id, t_program, ts, name, value))
        if len(self._rows) > self.max_buffer:
            # Bounded memory: never silently drop; shout, keep the newest.
            log.error("sample_buffer_overflow", dropped=len(self._rows) - self.max_buffer)
            del self._rows[: len(self._rows) - self.max_buffer]

    @property
    def pending(self) -> int:
        return len(self._rows)

    def due(self) -> bool:
        return len(self._rows) >= self.batch

    async def flush(self) -> int:
        """Write what is buffered; on a database error keep it for the next attempt."""
        async with self._lock:
            if not self._rows:
                return 0
            rows, self._rows = self._rows, []
            try:
                n = await asyncio.to_thread(write_samples, self.engine, rows)
            except SQLAlchemyError as exc:
                self.failures += 1
                self._rows = rows + self._rows
                log.warning("sample_flush_failed", pending=len(self._rows), error=str(exc)[:200])
                return 0
            self.written += n
            return n
