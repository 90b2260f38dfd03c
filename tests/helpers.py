"""Helpers shared by tests (importable, unlike conftest)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mes.cli.main import main
from mes.services import lots, recipes
from mes.store.tables import Recipe

LIBRARY = Path(__file__).resolve().parents[1] / "recipes" / "library"


def lot_at_pmc(engine: Engine, lot_id: str = "L001") -> str:
    """Create a lot and walk it through the manual MOLD step."""
    lots.create(engine, "op1", lot_id, "fowlp-cure", 25)
    lots.track_in(engine, "op1", lot_id)
    lots.track_out(engine, "op1", lot_id)
    return lot_id


def recipe_v2(
    engine: Engine, tmp_path: Path, name: str, *edits: tuple[str, str], approve: bool = True
) -> Recipe:
    """Import version 2 of a shipped recipe, with `edits` (old, new: every occurrence) made to
    its text, and approve it (as eng1) unless told not to."""
    text = (LIBRARY / f"{name}.toml").read_text(encoding="utf-8")
    for old, new in (("version = 1", "version = 2"), *edits):
        assert old in text, f"{name}: no {old!r} to edit"
        text = text.replace(old, new)
    path = tmp_path / f"{name}-v2.toml"
    path.write_text(text, encoding="utf-8")
    row = recipes.import_file(engine, "eng1", path)
    if approve:
        row = recipes.approve(engine, "eng1", row.name, row.version)
    return row


PASSWORDS = {"admin": "admin-pass-1", "op1": "op1-pass-12", "eng1": "eng1-pass-12"}


class Cli:
    """Runs `pkgline` in-process as a logged-in user (one session token per user)."""

    def __init__(self, db: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.db = db
        self.monkeypatch = monkeypatch
        self.tokens: dict[str, str] = {}

    def stdin(self, *lines: str) -> None:
        self.monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{x}\n" for x in lines)))

    def login(self, name: str, password: str | None = None) -> str:
        self.stdin(password or PASSWORDS[name])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main([*self.db, "login", name, "--password-stdin", "--print-token"])
        assert code == 0, f"login {name} failed"
        self.tokens[name] = out.getvalue().strip()
        return self.tokens[name]

    def __call__(self, user: str, *argv: str) -> int:
        token = self.tokens.get(user) or self.login(user)
        self.monkeypatch.setenv("PKGLINE_TOKEN", token)
        try:
            return main([*self.db, *argv])
        finally:
            self.monkeypatch.delenv("PKGLINE_TOKEN", raising=False)

    def add_user(self, name: str, roles: str) -> None:
        self.tokens.get("admin") or self.login("admin")
        self.stdin(PASSWORDS[name])
        assert self("admin", "user", "add", name, "--roles", roles, "--password-stdin") == 0

    def init(self) -> None:
        self.stdin(PASSWORDS["admin"])
        assert main([*self.db, "db", "init", "--password-stdin"]) == 0
