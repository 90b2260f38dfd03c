"""Sample ingest: pkgline's writer against the raw driver, on the same rows into the same table.

pkgline's side is the daemon's path: snapshots go into a SampleBuffer, whose flush writes
them through mes.services.runs.write_samples off the event loop. The baselines take the
same rows, already flattened, in one call and one commit each:

- SQLite: raw sqlite3 `executemany` in WAL mode, converting the timestamps to the stored
  text inside the timed part, as any writer must, and as pkgline's does, once per snapshot;
  foreign keys off (pkgline's connections check them);
- PostgreSQL: raw psycopg `COPY ... FROM STDIN`, `write_row` per row.

Each side runs REPEAT times, alternating, on an emptied sample table; the best of each counts
(the least disturbed by whatever else the machine does).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.postgres import libpq
from mes.daemon.ingest import SampleBuffer
from mes.services.runs import SampleRow
from mes.store.db import create_schema, make_engine
from mes.store.tables import Lot, Route, Run, Tool

SNAPSHOTS = 14_286  # x 7 values = 100,002 rows, one commit (DESIGN.md's 100 k rows)
REPEAT = 5
RUN_ID = 1

Snapshot = tuple[float, datetime, dict[str, float | None]]


@dataclass(frozen=True)
class Rates:
    rows: int
    ours: float  # rows/s through pkgline's writer
    raw: float  # rows/s through the raw driver

    @property
    def ratio(self) -> float:
        return self.ours / self.raw


def snapshots(n: int = SNAPSHOTS) -> list[Snapshot]:
    """An oven's snapshots at 1 Hz: setpoint, atmosphere, four zones (one sensor open)."""
    start = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
    out: list[Snapshot] = []
    for k in range(n):
        values: dict[str, float | None] = {
            "sp_c": 175.0,
            "o2_ppm": 40.0 + k % 5,
            "n2_lpm": 12.0,
        }
        for z in range(1, 5):
            values[f"zone{z}_c"] = None if z == 4 and k % 97 == 0 else 174.6 + (k + z) % 9 * 0.1
        out.append((float(k), start + timedelta(seconds=k), values))
    return out


def flatten(run_id: int, snaps: Sequence[Snapshot]) -> list[SampleRow]:
    """The rows the baselines write: one per value, in snapshot order (as the buffer keeps them)."""
    return [(run_id, t, ts, name, v) for t, ts, values in snaps for name, v in values.items()]


def seed_run(engine: Engine) -> None:
    """The rows a sample points at (route, tool, lot, run), without the services' ceremony."""
    with Session(engine) as s:
        s.add(Route(name="bench", steps_json="[]"))
        s.add(Tool(id="OVEN-B", type="cure_oven", e10_state="productive"))
        s.flush()
        s.add(Lot(id="BENCH-1", product="p", route="bench", status="running", wafers=1))
        s.flush()
        s.add(
            Run(
                id=RUN_ID,
                lot_id="BENCH-1",
                tool_id="OVEN-B",
                step="PMC",
                recipe_name="pmc-175",
                recipe_version=1,
                status="running",
                requested_by="bench",
            )
        )
        s.commit()


def through_buffer(engine: Engine, snaps: Sequence[Snapshot]) -> float:
    """Seconds for the daemon's SampleBuffer to flush the snapshots (filled before the clock)."""
    buffer = SampleBuffer(engine)
    for t, ts, values in snaps:
        buffer.add(RUN_ID, t, ts, values)
    rows = buffer.pending

    async def flush() -> float:
        t0 = time.perf_counter()
        written = await buffer.flush()
        elapsed = time.perf_counter() - t0
        if written != rows:
            raise RuntimeError(f"the buffer wrote {written} of {rows} rows (see its log)")
        return elapsed

    return asyncio.run(flush())


def sqlite_text(ts: datetime) -> str:
    """The text SQLAlchemy stores for a datetime in SQLite (UTC, microseconds), by the
    fastest route, so both sides leave the same rows in the table."""
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def raw_sqlite(raw: sqlite3.Connection, rows: Sequence[SampleRow]) -> float:
    t0 = time.perf_counter()
    payload = []
    last, text = None, ""
    for r, t, ts, n, v in rows:
        if ts is not last:  # the values of a snapshot share its timestamp: convert it once
            last, text = ts, sqlite_text(ts)
        payload.append((r, t, text, n, v))
    with raw:
        raw.executemany(
            "INSERT INTO sample (run_id, t_program, ts, name, value) VALUES (?,?,?,?,?)",
            payload,
        )
    return time.perf_counter() - t0


def raw_copy(conn: psycopg.Connection[Any], rows: Sequence[SampleRow]) -> float:
    t0 = time.perf_counter()
    with (
        conn.cursor() as cur,
        cur.copy("COPY sample (run_id, t_program, ts, name, value) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    conn.commit()
    return time.perf_counter() - t0


def _best_of(
    engine: Engine, snaps: Sequence[Snapshot], raw: Callable[[], float], empty: str
) -> tuple[float, float]:
    """Seconds, best of REPEAT, for pkgline's writer and for `raw`, alternating."""

    def ours() -> float:
        return through_buffer(engine, snaps)

    times: dict[Callable[[], float], list[float]] = {ours: [], raw: []}
    for _ in range(REPEAT):
        for timed, out in times.items():
            with engine.begin() as conn:
                conn.execute(text(empty))
            out.append(timed())
    return min(times[ours]), min(times[raw])


def sqlite_ingest(tmp: Path, snaps: Sequence[Snapshot]) -> Rates:
    """Both sides on a connection opened before the clock (pkgline's comes from its pool)."""
    path = tmp / "ingest.db"
    engine = make_engine(f"sqlite:///{path}")
    raw = sqlite3.connect(path)
    try:
        create_schema(engine)
        seed_run(engine)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA foreign_keys=OFF")
        rows = flatten(RUN_ID, snaps)
        ours, base = _best_of(engine, snaps, lambda: raw_sqlite(raw, rows), "DELETE FROM sample")
        return Rates(len(rows), len(rows) / ours, len(rows) / base)
    finally:
        raw.close()
        engine.dispose()


def postgres_ingest(engine: Engine, url: str, snaps: Sequence[Snapshot]) -> Rates:
    """Both sides on a connection opened before the clock (pkgline's comes from its pool)."""
    seed_run(engine)
    rows = flatten(RUN_ID, snaps)
    with psycopg.connect(libpq(url)) as raw:
        ours, base = _best_of(engine, snaps, lambda: raw_copy(raw, rows), "TRUNCATE sample")
    return Rates(len(rows), len(rows) / ours, len(rows) / base)
