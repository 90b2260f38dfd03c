"""The benchmark's own PostgreSQL database: found from the environment, created if missing.

`python -m bench.postgres answers URL` exits 0 when a PostgreSQL server answers at URL's
host (what pg_isready checks), so the Makefile can pass the URL on without the client tools.
"""

from __future__ import annotations

import os
import sys

import psycopg
from psycopg import sql
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from mes.store.db import create_schema, make_engine

ENV_URL = "PKGLINE_BENCH_DATABASE_URL"
MAINTENANCE_DB = "postgres"


def url_from_env() -> str | None:
    return os.environ.get(ENV_URL) or None


def libpq(url: str, database: str | None = None) -> str:
    """The SQLAlchemy URL as psycopg wants it, optionally on another database of the server."""
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def answers(url: str) -> bool:
    try:
        with psycopg.connect(libpq(url, MAINTENANCE_DB), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def ensure_database(url: str) -> None:
    """Create the URL's database when it does not exist, from the server's maintenance db."""
    name = make_url(url).database
    if not name:
        raise SystemExit(f"{ENV_URL}={url}: name a database (e.g. .../pkgline_bench)")
    with psycopg.connect(libpq(url, MAINTENANCE_DB), autocommit=True, connect_timeout=5) as c:
        found = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def fresh_engine(url: str) -> Engine:
    """An engine on an empty pkgline schema in the benchmark's database."""
    ensure_database(url)
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    create_schema(engine)
    return engine


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "answers":
        raise SystemExit("usage: python -m bench.postgres answers URL")
    sys.exit(0 if answers(sys.argv[2]) else 1)
