"""The operator app: one main screen over the MES database, as the acting user."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from textual.app import App
from textual.screen import Screen

from mes.tui.login import LoginScreen
from mes.tui.screen import MainScreen


class LineApp(App[None]):
    """Watch tools, lots, alarms and trends; track in/out, hold, release and measure lots
    as `actor`."""

    CSS_PATH = "app.tcss"
    TITLE = "pkgline"

    def __init__(
        self,
        engine: Engine,
        actor: str | None,
        refresh_s: float = 1.0,
        *,
        line: str | None = None,
    ) -> None:
        """`actor` None: the app opens on the login screen."""
        if refresh_s <= 0:
            raise ValueError(f"refresh_s = {refresh_s}: must be > 0")
        super().__init__()
        self.engine = engine
        self.actor = actor
        self.refresh_s = refresh_s
        self.line = line or line_name(engine)
        self.sub_title = f"line {self.line}" + (f" · actor {actor}" if actor else "")

    def get_default_screen(self) -> Screen[None]:
        if self.actor is None:
            return Screen()  # blank until the login screen above it is dismissed
        return MainScreen(self.engine, self.actor, self.refresh_s)

    def on_mount(self) -> None:
        if self.actor is None:
            self.push_screen(LoginScreen(self.engine, self.line), callback=self.logged_in)

    def logged_in(self, user: str | None) -> None:
        if user is None:
            return
        self.actor = user
        self.sub_title = f"line {self.line} · actor {user}"
        self.push_screen(MainScreen(self.engine, user, self.refresh_s))


def line_name(engine: Engine) -> str:
    """A short name for the database: the SQLite file's name or the PostgreSQL database."""
    database = engine.url.database
    if not database or database == ":memory:":
        return "in-memory"
    return Path(database).name if engine.url.get_backend_name() == "sqlite" else database
