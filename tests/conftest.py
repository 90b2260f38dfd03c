"""Shared fixtures: a real database (SQLite file, and PostgreSQL when CI provides one)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from mes.services import qualification, recipes, routes, tools, users
from mes.store.db import create_schema, make_engine

REPO = Path(__file__).resolve().parents[1]
# The molding line's fixtures (press, mold_line) for every system test that needs it.
pytest_plugins = ["tests.system.press_line"]
PG_URL = os.environ.get("PKGLINE_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, empty MES database on each backend."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'line.db'}")
    else:
        if not PG_URL:
            pytest.skip("PKGLINE_TEST_DATABASE_URL not set")
        eng = make_engine(PG_URL)
        SQLModel.metadata.drop_all(eng)
    create_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def line(engine: Engine) -> Engine:
    """A seeded line: users, approved recipes, the fowlp-cure route, OVEN-01 registered
    and qualified for the route's two cures (PMC, PI_CURE)."""
    users.bootstrap(engine, "admin")
    users.add(engine, "admin", "op1", "operator")
    users.add(engine, "admin", "eng1", "engineer")
    for name in ("pmc-175", "pi-cure-230"):
        row = recipes.import_file(engine, "eng1", REPO / "recipes" / "library" / f"{name}.toml")
        recipes.approve(engine, "eng1", row.name, row.version)
    routes.import_file(engine, "eng1", REPO / "deploy" / "routes" / "fowlp-cure.toml")
    tools.register(engine, "equipment", "OVEN-01", "cure_oven")
    for step in ("PMC", "PI_CURE"):
        qualification.qualify(engine, "eng1", "OVEN-01", step)
    return engine


@pytest.fixture
def leased(line: Engine) -> Engine:
    """The seeded line with OVEN-01 leased by a (pretend) live daemon."""
    tools.heartbeat(line, "test-daemon", ["OVEN-01"], ttl_s=600)
    return line


@pytest.fixture(autouse=True)
def _private_cli_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI logins of a test go to its own session file, never the developer's."""
    monkeypatch.setenv("PKGLINE_SESSION_FILE", str(tmp_path / "sessions.json"))
    monkeypatch.delenv("PKGLINE_TOKEN", raising=False)


@pytest.fixture(autouse=True)
async def _no_leaked_tasks() -> None:
    """Fail a test that leaves asyncio tasks running."""
    yield  # type: ignore[misc]
    current = asyncio.current_task()
    leaked = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not leaked, f"test left tasks running: {leaked}"
