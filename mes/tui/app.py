"""The operator app: one main screen over the MES database, as the acting user."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from textual.app import App
from textual.screen import Screen

from mes.tui.screen import MainScreen


class LineApp(App[None]):
    """Watch tools, lots, alarms and trends; track in/out, hold, release and measure lots
    as `actor`."""

    CSS_PATH = "app.tcss"
    TITLE = "pkgline"

    def __init__(
        self, engine: Engine, actor: str, refresh_s: float = 1.0, *, line: str | None = None
    ) -> None:
        if refresh_s <= 0:
            raise ValueError(f"refresh_s = {refresh_s}: must be > 0")
        super().__init__()
        self.engine = engine
        self.actor = actor
        self.refresh_s = refresh_s
        self.line = line or line_name(engine)
        self.sub_title = f"line {self.line} · actor {actor}"

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(self.engine, self.actor, self.refresh_s)


def line_name(engine: Engine) -> str:
    """A short name for the database: the SQLite file's name or the PostgreSQL database."""
    database = engine.url.database
    if not database or database == ":memory:":
        return "in-memory"
    return Path(database).name if engine.url.get_backend_name() == "sqlite" else database
