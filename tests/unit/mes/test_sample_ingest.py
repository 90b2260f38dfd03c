"""Sample ingest: what write_samples stores, and the buffer keeping rows the database refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy.engine import Engine

from mes.daemon.ingest import SampleBuffer
from mes.services import lots, runs
from tests.helpers import lot_at_pmc

CEST = timezone(timedelta(hours=2))


def a_run(engine: Engine) -> int:
    lot_at_pmc(engine)
    run_id = lots.track_in(engine, "op1", "L001", "OVEN-01").run_id
    assert run_id is not None
    return run_id


class TestWriteSamples:
    def test_rows_read_back_as_written(self, leased: Engine) -> None:
        """Every row comes back: the instant in UTC whatever the offset it was given in,
        microseconds kept, an open sensor as NULL (SQLite executemany, PostgreSQL COPY)."""
        run_id = a_run(leased)
        ts = datetime(2025, 3, 1, 8, 0, 0, 250_000, tzinfo=CEST)
        rows = [
            (run_id, 0.0, ts, "sp_c", 175.0),
            (run_id, 0.0, ts, "zone1_c", None),
            (run_id, 1 / 3, ts + timedelta(seconds=1), "zone1_c", 174.95),
        ]
        assert runs.write_samples(leased, rows) == 3
        got = [(s.t_program, s.ts, s.name, s.value) for s in runs.samples_of(leased, run_id)]
        utc = datetime(2025, 3, 1, 6, 0, 0, 250_000, tzinfo=UTC)
        assert sorted(got, key=lambda g: (g[0], g[2])) == [
            (0.0, utc, "sp_c", 175.0),
            (0.0, utc, "zone1_c", None),
            (1 / 3, utc + timedelta(seconds=1), "zone1_c", 174.95),
        ]

    async def test_buffer_keeps_rows_the_database_refuses(self, leased: Engine) -> None:
        """A refused batch (a run that does not exist) is kept, counted as a failure and
        written nothing; the rows of a good run then go through."""
        run_id = a_run(leased)
        buffer = SampleBuffer(leased)
        buffer.add(run_id + 1000, 0.0, datetime.now(UTC), {"sp_c": 175.0, "zone1_c": 174.0})
        assert await buffer.flush() == 0
        assert (buffer.pending, buffer.failures, buffer.written) == (2, 1, 0)
        assert runs.samples_of(leased, run_id + 1000) == []
        buffer = SampleBuffer(leased)
        buffer.add(run_id, 0.0, datetime.now(UTC), {"sp_c": 175.0, "zone1_c": 174.0})
        assert await buffer.flush() == 2
        assert len(runs.samples_of(leased, run_id)) == 2
