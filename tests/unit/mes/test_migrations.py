"""Schema migrations: the revisions build today's tables, and old databases are brought along."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from mes.cli.main import main
from mes.domain.errors import InvalidState
from mes.store import migrate
from mes.store.db import create_schema, make_engine
from mes.store.tables import Route

PG_URL = os.environ.get("PKGLINE_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _drop_everything(engine: Engine) -> None:
    """Every table the database has (alembic_version too, and tables no longer in tables.py)."""
    existing = MetaData()
    existing.reflect(engine)
    existing.drop_all(engine)


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no tables at all, on each backend."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    else:
        if not PG_URL:
            pytest.skip("PKGLINE_TEST_DATABASE_URL not set")
        eng = make_engine(PG_URL)
        _drop_everything(eng)
    yield eng
    if request.param == "postgres":
        _drop_everything(eng)  # no alembic_version left behind for the next test's create_all
    eng.dispose()


def _names(diffs: list[Any]) -> list[str]:
    """Alembic's diff tuples, shortened to "add_table gadget", "add_column hold.code", …"""
    out = []
    for diff in diffs:
        for d in diff if isinstance(diff, list) else [diff]:
            obj = d[-1] if d[0].startswith(("add_column", "remove_column")) else d[1]
            table = f"{d[2]}." if d[0].endswith("_column") else ""
            out.append(f"{d[0]} {table}{getattr(obj, 'name', obj)}")
    return out


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


class TestUpgrade:
    def test_empty_database_gets_todays_tables(self, empty: Engine) -> None:
        """The revisions build exactly the tables of mes.store.tables: no drift.

        Fails when a table or column was added without a revision: `make migration m=…`.
        """
        result = migrate.upgrade(empty)
        assert (result.before, result.after, result.stamped) == (None, migrate.head(), False)
        assert migrate.current(empty) == migrate.head()
        diffs = migrate.drift(empty)
        assert not diffs, f"tables.py differs from the migrations (make migration): {_names(diffs)}"

    def test_second_upgrade_changes_nothing(self, empty: Engine) -> None:
        """Upgrading a database at head is a no-op that keeps its rows."""
        migrate.upgrade(empty)
        with Session(empty) as s:
            s.add(Route(name="r1", steps_json="[]"))
            s.commit()
        tables = _tables(empty)
        result = migrate.upgrade(empty)
        assert (result.before, result.after, result.stamped) == (
            migrate.head(),
            migrate.head(),
            False,
        )
        assert _tables(empty) == tables
        with empty.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            assert conn.execute(text("SELECT name FROM route")).scalars().all() == ["r1"]

    def test_pre_migration_database_is_stamped_baseline_and_upgraded(self, empty: Engine) -> None:
        """A database create_all built before migrations (the 0001 tables, no version) is kept."""
        migrate.upgrade(empty, migrate.BASELINE)
        with empty.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))
        with Session(empty) as s:
            s.add(Route(name="old", steps_json="[]"))
            s.commit()
        assert migrate.current(empty) is None
        assert migrate.is_legacy(empty)

        result = migrate.upgrade(empty)

        assert result.stamped
        assert result.before in (migrate.BASELINE, migrate.head())
        assert result.after == migrate.head() == migrate.current(empty)
        with empty.connect() as conn:
            assert conn.execute(text("SELECT name FROM route")).scalars().all() == ["old"]

    def test_create_schema_database_is_stamped_head(self, empty: Engine) -> None:
        """Tables create_all built from today's tables.py match head: stamped, nothing re-run."""
        create_schema(empty)
        result = migrate.upgrade(empty)
        assert (result.before, result.after, result.stamped) == (
            migrate.head(),
            migrate.head(),
            True,
        )
        assert migrate.drift(empty) == []

    def test_some_tables_without_a_revision_are_refused(self, empty: Engine) -> None:
        """A database with only part of the baseline tables is not guessed at; nothing changes."""
        SQLModel.metadata.tables["route"].create(empty)
        with pytest.raises(InvalidState, match=r"not \[.*'user'.*\] and no alembic_version"):
            migrate.upgrade(empty)
        assert _tables(empty) == {"route"}

    def test_revision_from_a_newer_pkgline_is_refused(self, empty: Engine) -> None:
        """A database upgraded by a newer pkgline says so instead of failing inside Alembic."""
        migrate.upgrade(empty)
        with empty.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(InvalidState, match=r"revision '9999' is unknown .* upgrade pkgline"):
            migrate.upgrade(empty)

    def test_concurrent_upgrades_run_one_after_the_other(self, empty: Engine) -> None:
        """Two processes starting on an empty database: one migrates, the other finds head."""
        url = empty.url.render_as_string(hide_password=False)
        engines = [make_engine(url) for _ in range(2)]
        results: list[migrate.Upgrade] = []
        errors: list[Exception] = []
        start = threading.Barrier(2)

        def go(engine: Engine) -> None:
            start.wait()
            try:
                results.append(migrate.upgrade(engine))
            except Exception as exc:  # reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        for e in engines:
            e.dispose()
        assert not errors
        assert sorted(str(r.before) for r in results) == sorted([migrate.head(), "None"])
        assert {r.after for r in results} == {migrate.head()}

    def test_sqlite_foreign_keys_are_on_again_after_upgrade(self, tmp_path: Path) -> None:
        """Migrations run with SQLite's foreign keys off; the pooled connection gets them back."""
        engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        engine.dispose()


class TestNewRevision:
    def test_autogenerates_the_next_numbered_revision(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`make migration`: a table added to the metadata becomes the next revision."""
        scripts = tmp_path / "migrations"
        shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
        monkeypatch.setattr(migrate, "MIGRATIONS", scripts)
        migrate._script.cache_clear()
        expected = f"{int(migrate.head()) + 1:04d}_add_gadget.py"
        gadget = Table("gadget", SQLModel.metadata, Column("id", Integer, primary_key=True))
        try:
            path = migrate.new_revision("add gadget")
            migrate._script.cache_clear()
            assert path.parent == scripts / "versions"
            assert path.name == expected
            assert "op.create_table('gadget'" in path.read_text()
            assert migrate.head() == path.name[:4]
            engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
            migrate.upgrade(engine)
            assert "gadget" in _tables(engine)
            assert migrate.drift(engine) == []
            engine.dispose()
        finally:
            SQLModel.metadata.remove(gadget)
            migrate._script.cache_clear()


class TestCli:
    def test_db_upgrade_prints_revisions_and_creates_tables(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`pkgline db upgrade` on a fresh SQLite file: empty → head, then nothing to do."""
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        head = migrate.head()

        assert main(["--db", url, "db", "current"]) == 0
        assert "no revision: an empty database" in capsys.readouterr().out
        assert main(["--db", url, "db", "upgrade"]) == 0
        assert capsys.readouterr().out.strip() == f"schema empty → {head}"
        assert main(["--db", url, "db", "upgrade"]) == 0
        assert capsys.readouterr().out.strip() == f"schema at {head} (head), nothing to do"
        assert main(["--db", url, "db", "current"]) == 0
        assert capsys.readouterr().out.strip() == f"{head} (head)"

        engine = make_engine(url)
        assert set(SQLModel.metadata.tables) <= _tables(engine)
        engine.dispose()

    def test_db_upgrade_stamps_a_pre_migration_database(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`db current` recognises tables without a revision; `db upgrade` says it stamped them."""
        url = f"sqlite:///{tmp_path / 'old.db'}"
        engine = make_engine(url)
        create_schema(engine)
        engine.dispose()

        assert main(["--db", url, "db", "current"]) == 0
        assert "tables from before migrations" in capsys.readouterr().out
        assert main(["--db", url, "db", "upgrade"]) == 0
        assert "tables without a revision stamped" in capsys.readouterr().out
        assert main(["--json", "--db", url, "db", "current"]) == 0
        assert f'"current": "{migrate.head()}"' in capsys.readouterr().out

    def test_shared_database_behind_head_is_not_migrated_by_a_command(
        self, empty: Engine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """On PostgreSQL an ordinary command refuses a database at an older revision (its
        daemons may be older); `db upgrade` does it. An embedded SQLite file just upgrades."""
        migrate.upgrade(empty, "0003")
        url = empty.url.render_as_string(hide_password=False)
        code = main(["--db", url, "lot", "list"])
        if empty.dialect.name == "sqlite":
            assert code == 0 and migrate.current(empty) == migrate.head()
            return
        assert code == 2
        assert "at revision 0003" in capsys.readouterr().err
        assert migrate.current(empty) == "0003"
        assert main(["--db", url, "db", "upgrade"]) == 0
        assert main(["--db", url, "lot", "list"]) == 0
