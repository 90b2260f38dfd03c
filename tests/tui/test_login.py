"""The TUI without a CLI session opens on a login screen; the password is checked."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from textual.pilot import Pilot

from mes.domain.errors import PermissionDenied
from mes.services import users
from mes.tui import LineApp
from mes.tui.login import LoginScreen
from mes.tui.screen import MainScreen
from tests.tui.helpers import NO_TICK_S, OPERATOR, SIZE, burst, settle


async def to_password(pilot: Pilot[None]) -> None:
    """Type op1 as the user and move to the password field."""
    await pilot.click("#user")
    await pilot.press(*OPERATOR)
    await pilot.click("#password")


async def test_login_then_main_screen(demo_engine: Engine) -> None:
    users.set_password(demo_engine, "admin", OPERATOR, "op1-pass-12")
    app = LineApp(demo_engine, None, NO_TICK_S)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await to_password(pilot)
        await pilot.press(*"wrong-pass", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LoginScreen)
        assert "unknown user or wrong password" in screen.error
        await pilot.press(*"op1-pass-12", "enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.actor == OPERATOR and "actor op1" in app.sub_title


async def test_a_changed_password_sends_the_app_back_to_login(demo_engine: Engine) -> None:
    """An admin resets op1's password: at its next session check the TUI logs op1 out."""
    users.set_password(demo_engine, "admin", OPERATOR, "op1-pass-12")
    app = LineApp(demo_engine, None, NO_TICK_S, session_check_s=NO_TICK_S)
    async with app.run_test(size=SIZE) as pilot:
        await to_password(pilot)
        await pilot.press(*"op1-pass-12", "enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        app.check_session()
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)  # still valid: nothing happens
        users.set_password(demo_engine, "admin", OPERATOR, "reset-by-admin-1")
        app.check_session()
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.actor is None and app.token is None


async def test_quitting_ends_the_session_it_opened(demo_engine: Engine) -> None:
    users.set_password(demo_engine, "admin", OPERATOR, "op1-pass-12")
    app = LineApp(demo_engine, None, NO_TICK_S)
    async with app.run_test(size=SIZE) as pilot:
        await to_password(pilot)
        await pilot.press(*"op1-pass-12", "enter")
        await settle(pilot)
        token = app.token
        assert token is not None
    with pytest.raises(PermissionDenied, match="not logged in"):
        users.session_user(demo_engine, token)


async def test_a_password_typed_fast_is_read_whole(demo_engine: Engine) -> None:
    """A password and Enter arriving in one burst (a password manager typing it) log in."""
    users.set_password(demo_engine, "admin", OPERATOR, "op1-pass-12")
    app = LineApp(demo_engine, None, NO_TICK_S)
    async with app.run_test(size=SIZE) as pilot:
        await to_password(pilot)
        await burst(pilot, "op1-pass-12")
        assert isinstance(app.screen, MainScreen), getattr(app.screen, "error", "")
