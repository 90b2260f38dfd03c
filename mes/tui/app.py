"""The operator app: one main screen over the MES database, as the acting user."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy.engine import Engine
from textual import work
from textual.app import App
from textual.screen import Screen

from mes.domain.errors import PermissionDenied
from mes.services import users
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
        token: str | None = None,
        session_check_s: float = 30.0,
    ) -> None:
        """`actor` None: the app opens on the login screen. With a session `token`, the
        session is checked every `session_check_s`: once it has ended (expired, logged out,
        password changed) the app goes back to the login screen."""
        if refresh_s <= 0:
            raise ValueError(f"refresh_s = {refresh_s}: must be > 0")
        super().__init__()
        self.engine = engine
        self.actor = actor
        self.token = token
        self.refresh_s = refresh_s
        self.session_check_s = session_check_s
        self._own_session = False  # opened by this app's login screen: ended on quit
        self.line = line or line_name(engine)
        self.sub_title = f"line {self.line}" + (f" · actor {actor}" if actor else "")

    def get_default_screen(self) -> Screen[None]:
        if self.actor is None:
            return Screen()  # blank until the login screen above it is dismissed
        return MainScreen(self.engine, self.actor, self.refresh_s)

    def on_mount(self) -> None:
        self.set_interval(self.session_check_s, self.check_session)
        if self.actor is None:
            self._ask_login()

    def _ask_login(self) -> None:
        self.push_screen(LoginScreen(self.engine, self.line), callback=self.logged_in)

    def logged_in(self, login: users.Login | None) -> None:
        if login is None:
            return
        self.actor, self.token, self._own_session = login.user, login.token, True
        self.sub_title = f"line {self.line} · actor {login.user}"
        self.push_screen(MainScreen(self.engine, login.user, self.refresh_s))

    @work(exclusive=True, group="session")
    async def check_session(self) -> None:
        """Back to the login screen once the session has ended."""
        if self.token is None or self.actor is None:
            return
        try:
            await asyncio.to_thread(users.session_user, self.engine, self.token)
        except PermissionDenied as exc:
            self.notify(str(exc), title="logged out", severity="error", timeout=10)
            self.actor = self.token = None
            self._own_session = False
            self.sub_title = f"line {self.line}"
            while len(self.screen_stack) > 1:
                self.pop_screen()
            if isinstance(self.screen, MainScreen):  # started with a CLI session
                self.switch_screen(Screen())
            self._ask_login()

    def on_unmount(self) -> None:
        if self._own_session and self.token is not None:
            with contextlib.suppress(Exception):  # quitting must not fail on a closed line
                users.logout(self.engine, self.token)


def line_name(engine: Engine) -> str:
    """A short name for the database: the SQLite file's name or the PostgreSQL database."""
    database = engine.url.database
    if not database or database == ":memory:":
        return "in-memory"
    return Path(database).name if engine.url.get_backend_name() == "sqlite" else database
