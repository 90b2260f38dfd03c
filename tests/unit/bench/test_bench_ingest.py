"""The ingest benchmark compares like with like: both writers leave the same rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench import ingest
from mes.store.db import create_schema, make_engine

SAMPLE = "SELECT run_id, t_program, ts, name, value FROM sample ORDER BY id"


def fresh(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    ingest.seed_run(engine)
    engine.dispose()


class TestIngestBench:
    def test_both_writers_store_identical_rows(self, tmp_path: Path) -> None:
        """pkgline's buffer and the raw executemany baseline store the same rows, byte for
        byte, timestamps included, so the ratio compares the same work."""
        snaps = ingest.snapshots(200)
        ours, raw = tmp_path / "ours.db", tmp_path / "raw.db"
        fresh(ours)
        fresh(raw)
        engine = make_engine(f"sqlite:///{ours}")
        ingest.through_buffer(engine, snaps)
        engine.dispose()
        conn = sqlite3.connect(raw)
        ingest.raw_sqlite(conn, ingest.flatten(ingest.RUN_ID, snaps))
        stored = {p: sqlite3.connect(p).execute(SAMPLE).fetchall() for p in (ours, raw)}
        conn.close()
        assert len(stored[ours]) == 200 * 7
        assert stored[ours] == stored[raw]
        assert any(row[4] is None for row in stored[ours])  # the open sensor is NULL on both
