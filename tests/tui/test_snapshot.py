"""Pinned pictures of LineApp (look at the SVG report before accepting a new one)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from textual.pilot import Pilot

from mes.tui import LineApp
from tests.tui.helpers import NO_TICK_S, SIZE, settle, still

SnapCompare = Callable[..., bool]


class TestMainScreen:
    def test_busy_line(self, busy_line: Engine, snap_compare: SnapCompare) -> None:
        """A line mid-cure: the oven's live values, three lots (one running, one held),
        the run's trend against its set-point and one excursion alarm."""
        app = LineApp(busy_line, "op1", NO_TICK_S)
        assert snap_compare(app, terminal_size=SIZE, run_before=still)

    def test_hold_dialog(self, busy_line: Engine, snap_compare: SnapCompare) -> None:
        """The hold dialog after an empty reason was refused: the message shows in it."""

        async def refuse_empty(pilot: Pilot[None]) -> None:
            await settle(pilot)
            await pilot.press("tab", "h", "enter")
            await still(pilot)

        app = LineApp(busy_line, "op1", NO_TICK_S)
        assert snap_compare(app, terminal_size=SIZE, run_before=refuse_empty)

    def test_wafers_view(self, cured_line: Engine, snap_compare: SnapCompare) -> None:
        """L001's wafers (two cured, the rest blank) over the ledger of wafer 1: a PMC and a
        polyimide cure with two gaps."""

        async def open_ledger(pilot: Pilot[None]) -> None:
            await settle(pilot)
            await pilot.press("tab", "w")
            await settle(pilot)
            await pilot.press("enter")
            await still(pilot)

        app = LineApp(cured_line, "op1", NO_TICK_S)
        assert snap_compare(app, terminal_size=SIZE, run_before=open_ledger)

    def test_metrology_dialog(self, plated_line: Engine, snap_compare: SnapCompare) -> None:
        """The metrology dialog on L001's plating run after "abc" was refused."""

        async def refuse_text(pilot: Pilot[None]) -> None:
            await settle(pilot)
            await pilot.press("tab", "m")
            await settle(pilot)
            await pilot.press(*"abc", "enter")
            await still(pilot)

        app = LineApp(plated_line, "op1", NO_TICK_S)
        assert snap_compare(app, terminal_size=SIZE, run_before=refuse_text)

    def test_plated_wafers_view(self, plated_line: Engine, snap_compare: SnapCompare) -> None:
        """L001's wafers (two plated) over wafer 1's empty ledger and its plating record."""

        async def open_records(pilot: Pilot[None]) -> None:
            await settle(pilot)
            await pilot.press("tab", "w")
            await settle(pilot)
            await pilot.press("enter")
            await still(pilot)

        app = LineApp(plated_line, "op1", NO_TICK_S)
        assert snap_compare(app, terminal_size=SIZE, run_before=open_records)


class TestLoginScreen:
    def test_login_refused(self, demo_engine: Engine, snap_compare: SnapCompare) -> None:
        """The login form after a wrong password: the message, the password field cleared."""

        async def wrong_password(pilot: Pilot[None]) -> None:
            await settle(pilot)
            await pilot.click("#user")
            await pilot.press(*"op1")
            await pilot.click("#password")
            await pilot.press(*"not-it-123", "enter")
            await still(pilot)

        app = LineApp(demo_engine, None, NO_TICK_S, line="line.db")
        assert snap_compare(app, terminal_size=SIZE, run_before=wrong_password)
