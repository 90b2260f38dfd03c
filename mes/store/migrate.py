"""Schema migrations: Alembic, driven from code.

The revision scripts ship inside the package (`mes/store/migrations/versions/`), so an
installed pkgline upgrades its database without an alembic.ini: `upgrade(engine)` builds the
Alembic config here and hands Alembic the connection. Every real database goes through
`upgrade`; `create_schema` (create_all) is for scratch databases in tests and benchmarks.

Developers add a revision with `make migration m="what changed"` (see `new_revision`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from mes.domain.errors import InvalidState
from mes.store.db import make_engine

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
# The schema `create_all` built before pkgline had migrations: revision 0001 describes exactly
# these tables, so a database holding them and no version table is stamped 0001 and upgraded
# (or stamped head when its tables already match today's, as create_schema builds them).
BASELINE = "0001"
BASELINE_TABLES = frozenset(
    {
        "alarm",
        "audit",
        "cureentry",
        "hold",
        "lot",
        "material",
        "platingrecord",
        "recipe",
        "route",
        "run",
        "sample",
        "tool",
        "user",
        "wafer",
    }
)
# pg_advisory_xact_lock key ("pkgline" in ASCII): daemons starting together upgrade one at a time.
PG_LOCK_KEY = 0x706B676C696E65


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did: the revision before (None: an empty database) and after."""

    before: str | None
    after: str
    stamped: bool  # tables without a revision were found and stamped (BASELINE, or head)


def upgrade(engine: Engine, revision: str = "head") -> Upgrade:
    """Bring the schema to `revision`; cheap and a no-op when it is there already."""
    target = head() if revision == "head" else revision
    with _migration_connection(engine) as conn:
        before = _current(conn)
        stamped = False
        if before is None and _is_legacy(conn):
            # Tables from create_all and no revision: a pre-migration install (its tables are
            # BASELINE's) or a scratch database create_schema built from today's tables.
            before = head() if not _drift(conn) else BASELINE
            command.stamp(_config(conn), before)
            stamped = True
        if before is not None and before not in _known():
            raise InvalidState(
                f"database schema revision {before!r} is unknown to this pkgline (its newest "
                f"is {head()!r}): the database was upgraded by a newer pkgline; upgrade pkgline"
            )
        if before != target:
            command.upgrade(_config(conn), target)
        after = _current(conn)
        if conn.dialect.name == "sqlite":
            _check_foreign_keys(conn)
    assert after is not None
    return Upgrade(before=before, after=after, stamped=stamped)


def current(engine: Engine) -> str | None:
    """The database's schema revision; None for an empty or a pre-migration database."""
    with engine.connect() as conn:
        return _current(conn)


def is_legacy(engine: Engine) -> bool:
    """True when the database has pkgline's tables from before migrations and no revision."""
    with engine.connect() as conn:
        return _current(conn) is None and _is_legacy(conn)


def head() -> str:
    """The newest revision this pkgline ships."""
    heads = _script().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads {heads}: merge them")
    return heads[0]


def drift(engine: Engine) -> list[Any]:
    """Differences between the database's schema and the tables in mes.store.tables.

    Empty after `upgrade` unless a table or column was changed without a revision.
    """
    with engine.connect() as conn:
        return _drift(conn)


def new_revision(message: str) -> Path:
    """Autogenerate the next revision (0002, 0003, …) against a scratch SQLite at head."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        try:
            if _known():  # else this is the first revision, against an empty database
                upgrade(engine)
            if not drift(engine):
                print("no schema changes found: the revision is empty", file=sys.stderr)
            with engine.begin() as conn:
                config = _config(conn)
                config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
                with contextlib.redirect_stdout(sys.stderr):  # alembic's "Generating …"
                    script = command.revision(
                        config, message=message, autogenerate=True, rev_id=_next_id()
                    )
        finally:
            engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError(f"alembic wrote no single revision: {script!r}")
    return Path(script.path)


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


@functools.cache
def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def _known() -> set[str]:
    return {s.revision for s in _script().walk_revisions()}


def _next_id() -> str:
    numbered = [int(r) for r in _known() if r.isdigit()]
    return f"{max(numbered, default=0) + 1:04d}"


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _drift(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def _is_legacy(conn: Connection) -> bool:
    present = set(inspect(conn).get_table_names())
    if VERSION_TABLE in present or not present & BASELINE_TABLES:
        return False
    missing = BASELINE_TABLES - present
    if missing:
        raise InvalidState(
            f"database has some of pkgline's tables but not {sorted(missing)} and no "
            f"{VERSION_TABLE} table: not a pkgline database this version can upgrade"
        )
    return True


@contextlib.contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """One connection, one transaction: the whole upgrade commits or nothing does.

    SQLite: the engine's BEGIN IMMEDIATE takes the write lock, so two processes upgrade one
    after the other. Foreign keys are off while it runs (batch mode rebuilds tables, and the
    pragma cannot change inside a transaction) and checked before the commit.
    PostgreSQL: DDL is transactional; an advisory lock serialises concurrent upgrades.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(conn, on=False)
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
                yield conn
        finally:
            if sqlite:
                _sqlite_foreign_keys(conn, on=True)


def _sqlite_foreign_keys(conn: Connection, *, on: bool) -> None:
    # On the DBAPI connection, outside any transaction: inside one SQLite ignores the pragma.
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cur.close()


def _check_foreign_keys(conn: Connection) -> None:
    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if bad:
        rows = ", ".join(f"{r[0]} row {r[1]} → {r[2]}" for r in bad[:5])
        raise InvalidState(f"migration left {len(bad)} broken foreign keys: {rows}")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m mes.store.migrate revision MESSAGE`: the developer's `make migration`."""
    parser = argparse.ArgumentParser(prog="python -m mes.store.migrate")
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser("revision", help="autogenerate the next revision from mes.store.tables")
    rev.add_argument("message")
    args = parser.parse_args(argv)
    print(new_revision(args.message))
    return 0


if __name__ == "__main__":
    sys.exit(main())
