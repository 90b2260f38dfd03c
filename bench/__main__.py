"""`make bench`: pkgline's paths against the raw library calls, same machine, same run.

Prints one table: sample ingest through pkgline's writer against raw sqlite3 executemany
(WAL) and raw psycopg COPY on the same rows (bench.ingest); track-in/track-out with audit on
SQLite and PostgreSQL (bench.moves); the oven snapshot read against raw pymodbus
(bench.reads). A missed target is followed by a profile of where its time goes
(bench.hotspots). PostgreSQL is measured when PKGLINE_BENCH_DATABASE_URL names a database
the benchmark may wipe (bench.postgres; the Makefile sets it when a server answers).
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from bench import hotspots, ingest, moves, postgres, reads
from bench.report import Figure, machine, table
from mes.daemon.logs import configure_logging
from mes.store.db import create_schema, make_engine

INGEST_TARGET = 0.5  # x the raw driver, each engine
MOVES_TARGET = 500.0  # moves per second on SQLite


def ingest_figure(engine_name: str, baseline: str, r: ingest.Rates) -> Figure:
    return Figure(
        f"sample ingest, {engine_name} ({r.rows:,} rows)",
        f"{r.ours:,.0f} rows/s",
        f"{r.raw:,.0f} rows/s, {baseline}",
        r.ratio,
        f">= {INGEST_TARGET}x raw",
        r.ratio >= INGEST_TARGET,
    )


def moves_figure(engine_name: str, m: moves.MoveRate, target: float | None) -> Figure:
    return Figure(
        f"track-in/out + audit, {engine_name} ({m.moves} moves, best of {m.rounds})",
        f"{m.per_second:,.0f} moves/s",
        target="-" if target is None else f">= {target:.0f} moves/s",
        passed=None if target is None else m.per_second >= target,
    )


def why_moves_slow(engine: Engine) -> str:
    """Profile one more lot walking the whole route on the engine that missed."""
    lot_ids = moves.start_lots(engine, "PROF", 1)
    shares = hotspots.profile(lambda: moves.move_all(engine, lot_ids))
    return hotspots.describe(f"why track-in/out misses {MOVES_TARGET:.0f}/s on SQLite", shares)


def sqlite_part(tmp: Path, snaps: list[ingest.Snapshot]) -> tuple[list[Figure], list[str]]:
    figures = [
        ingest_figure("SQLite", "raw sqlite3 executemany, WAL", ingest.sqlite_ingest(tmp, snaps))
    ]
    notes = []
    engine = make_engine(f"sqlite:///{tmp / 'moves.db'}")
    try:
        create_schema(engine)
        m = moves.measure(engine, tmp)
        figures.append(moves_figure("SQLite", m, MOVES_TARGET))
        if m.per_second < MOVES_TARGET:
            notes.append(why_moves_slow(engine))
    finally:
        engine.dispose()
    return figures, notes


def postgres_part(url: str, tmp: Path, snaps: list[ingest.Snapshot]) -> list[Figure]:
    engine = postgres.fresh_engine(url)
    try:
        rates = ingest.postgres_ingest(engine, url, snaps)
    finally:
        engine.dispose()
    engine = postgres.fresh_engine(url)
    try:
        m = moves.measure(engine, tmp)
    finally:
        engine.dispose()
    return [
        ingest_figure("PostgreSQL", "raw psycopg COPY", rates),
        moves_figure("PostgreSQL", m, None),
    ]


def main() -> None:
    started = time.perf_counter()
    configure_logging("console", logging.WARNING)  # the simulator's chatter is not a figure
    print(f"make bench: pkgline against the raw library calls, one run ({machine()})")
    snaps = ingest.snapshots()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        figures, notes = sqlite_part(tmp, snaps)
        url = postgres.url_from_env()
        if url is None:
            pg_line = f"PostgreSQL: skipped (set {postgres.ENV_URL})"
        else:
            shown = make_url(url).render_as_string(hide_password=True)
            try:
                figures += postgres_part(url, tmp, snaps)
                pg_line = f"PostgreSQL: {shown} (its tables are dropped and recreated)"
            except (psycopg.OperationalError, SQLAlchemyError) as exc:
                first = str(exc).strip().splitlines()[0]
                pg_line = f"PostgreSQL: skipped ({shown}: {first})"
    r = reads.measure()
    figures.append(
        Figure(
            f"oven snapshot read, Modbus (median of {r.reads})",
            f"{r.ours_s * 1e6:,.0f} µs",
            f"{r.raw_s * 1e6:,.0f} µs, raw pymodbus 40 registers",
            r.ratio,
            "~2 (2 requests)",
        )
    )
    print()
    print(table(figures))
    print()
    print(
        "ingest: pkgline = the daemon's SampleBuffer.flush -> runs.write_samples, all rows in "
        f"one commit, as the baseline; best of {ingest.REPEAT} each, alternating."
    )
    print(
        "track-in/out: a move is one lots.track_in or lots.track_out call (one transaction: "
        "authorize, move, audit record); one step = 2 moves; SQLite is a file in WAL mode."
    )
    print("oven read: pkgline's snapshot is 2 requests (input image, run id) + decoding.")
    print(pg_line)
    for note in notes:
        print(note)
    print(f"bench finished in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
