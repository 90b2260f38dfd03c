"""Database engine factory: SQLite (embedded default) or PostgreSQL, chosen by URL."""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel, create_engine

from mes.store import tables as _tables  # noqa: F401  (registers the tables on the metadata)

DEFAULT_URL = "sqlite:///pkgline.db"
ENV_URL = "PKGLINE_DATABASE_URL"


def resolve_database_url(cli: str | None = None, config: str | None = None) -> str:
    """--db beats PKGLINE_DATABASE_URL, which beats the line config, which beats the default."""
    return cli or os.environ.get(ENV_URL) or config or DEFAULT_URL


def make_engine(url: str) -> Engine:
    """An engine with the pragmas a shared SQLite file needs (WAL, busy timeout, FKs)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # Every transaction takes SQLite's write lock up front (BEGIN IMMEDIATE), so two
        # conflicting transactions run one after the other and the second sees the first's
        # result, instead of both reading the same state and one failing on upgrade.
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # pysqlite must not emit its own BEGIN
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    _sqlite_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_wal(cur: Any, wait_s: float = 30.0) -> None:
    """Switch a new file to WAL (it stays so). The switch needs the file to itself and, while
    another connection holds a lock (two processes opening a fresh file at once), fails at
    once instead of waiting on busy_timeout; so wait here."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def create_schema(engine: Engine) -> None:
    """Today's tables at once, for scratch databases (tests, benchmarks).

    A real database goes through mes.store.migrate.upgrade, which also accepts (and stamps) a
    database built here, since its tables match the newest revision.
    """
    SQLModel.metadata.create_all(engine)
