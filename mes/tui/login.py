"""The login screen: user and password, checked against the database before anything else."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from sqlalchemy.engine import Engine
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from mes.domain.errors import DomainError
from mes.services import users
from mes.tui.keys import after_pending_keys


class LoginScreen(Screen[users.Login]):
    """Ask for a user and password; dismiss with the session once the password checks out."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "login", "Log in", priority=True),
        Binding("ctrl+q", "app.quit", "Quit"),
    ]

    def __init__(self, engine: Engine, line: str) -> None:
        super().__init__()
        self.engine = engine
        self.line = line

    def compose(self) -> ComposeResult:
        with Vertical(id="login"):
            yield Static(f"pkgline · line {self.line}", id="login-title")
            yield Label("User")
            yield Input(placeholder="your user name", id="user")
            yield Label("Password")
            yield Input(password=True, id="password")
            yield Static("", id="login-error", markup=False)
        yield Footer()

    @property
    def error(self) -> str:
        return str(self.query_one("#login-error", Static).content)

    def action_login(self) -> None:
        after_pending_keys(self, self._login)  # a password typed fast is read whole

    def _login(self) -> None:
        name = self.query_one("#user", Input).value.strip()
        if not name:
            self.query_one("#user", Input).focus()
            return
        if not self.query_one("#password", Input).value:
            self.query_one("#password", Input).focus()
            return
        self._check(name, self.query_one("#password", Input).value)

    @work(exclusive=True, group="login")
    async def _check(self, name: str, password: str) -> None:
        try:
            result = await asyncio.to_thread(users.login, self.engine, name, password)
        except DomainError as exc:
            self.query_one("#login-error", Static).update(str(exc))
            field = self.query_one("#password", Input)
            field.value = ""
            field.focus()
            return
        self.dismiss(result)
