"""LineApp driven from the keyboard against a seeded SQLite line."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from textual.widgets import Input

from mes.services import lots, reads, tools
from mes.tui.modals import ActionModal
from tests.tui.helpers import OPERATOR, OVEN, Harness, column, running, settle, to_oven_step


async def select_lot(h: Harness, lot_id: str, *, focus: bool = True) -> None:
    """Focus the Lots table (tab from Tools; `focus=False` when it has focus already) and
    put its cursor on `lot_id`."""
    if focus:
        await h.press("tab")
    table = h.table("lots")
    assert h.app.focused is table
    keys = [str(r.key.value) for r in table.ordered_rows]
    await h.press(*["up"] * len(keys), *["down"] * keys.index(lot_id))
    assert h.app.screen_stack[0].query_one("#lots").selected_key == lot_id  # type: ignore[attr-defined]


def modal(h: Harness) -> ActionModal:
    screen = h.app.screen
    assert isinstance(screen, ActionModal), f"expected a dialog, got {screen!r}"
    return screen


async def retype(h: Harness, text: str) -> None:
    """Replace the dialog's text with `text` and submit it."""
    modal(h).query_one(Input).value = ""
    await h.type(text)
    await h.press("enter")


class TestTrackIn:
    async def test_manual_step_then_oven_step(self, demo_line: Engine) -> None:
        """t at a manual step tracks in without a tool; o tracks out; t at PMC with the
        selected oven requests a run and the Lots table shows the lot running on it."""
        async with running(demo_line) as h:
            await select_lot(h, "L001")
            await h.press("t")
            assert modal(h).query_one(Input).value == ""
            await h.press("enter")
            assert h.app.screen is h.app.screen_stack[0]
            lot = reads.lot(demo_line, "L001")
            assert lot is not None
            assert (lot.step, lot.status) == ("MOLD", "running")
            assert column(h.table("lots"), "status")["L001"] == "running"

            await h.press("o")
            lot = reads.lot(demo_line, "L001")
            assert lot is not None
            assert (lot.step, lot.status) == ("PMC", "waiting")
            assert column(h.table("lots"), "step")["L001"] == "PMC (2/3)"

            await h.press("t")
            assert modal(h).query_one(Input).value == OVEN  # the Tools cursor is on it
            await h.press("enter")
            (run,) = reads.runs(demo_line)
            assert (run.lot_id, run.tool_id, run.step, run.status) == (
                "L001",
                OVEN,
                "PMC",
                "requested",
            )
            table = h.table("lots")
            assert column(table, "status")["L001"] == "running"
            assert column(table, "tool")["L001"] == OVEN
            assert column(h.table("tools"), "run")[OVEN] == str(run.id)
            assert any(f"run {run.id}" in n.message for n in h.notes)
            assert h.errors() == []

    async def test_typed_tool_is_used(self, demo_line: Engine) -> None:
        """The tool field takes a typed id, replacing the prefilled one."""
        to_oven_step(demo_line, "L002")
        async with running(demo_line) as h:
            await select_lot(h, "L002")
            await h.press("t")
            modal(h).query_one(Input).value = ""
            await h.type(OVEN)
            await h.press("enter")
            (run,) = reads.runs(demo_line)
            assert (run.lot_id, run.tool_id) == ("L002", OVEN)

    async def test_unknown_tool_is_refused_in_the_dialog(self, demo_line: Engine) -> None:
        """A refused track-in keeps the dialog open with the service's message and changes
        nothing; Escape then closes it."""
        to_oven_step(demo_line, "L001")
        async with running(demo_line) as h:
            await select_lot(h, "L001")
            await h.press("t")
            modal(h).query_one(Input).value = ""
            await h.type("OVEN-99")
            await h.press("enter")
            assert "tool 'OVEN-99' does not exist" in modal(h).error
            await h.press("escape")
            assert h.app.screen is h.app.screen_stack[0]
        lot = reads.lot(demo_line, "L001")
        assert lot is not None
        assert (lot.step, lot.status, lot.tool_id) == ("PMC", "waiting", None)
        assert reads.runs(demo_line) == []

    async def test_a_held_lot_is_refused(self, demo_line: Engine) -> None:
        """Track-in of a held lot shows why in the dialog and leaves the lot waiting."""
        lots.hold(demo_line, OPERATOR, "L001", "wrong carrier")
        async with running(demo_line) as h:
            await select_lot(h, "L001")
            await h.press("t", "enter")
            assert "on hold" in modal(h).error
        lot = reads.lot(demo_line, "L001")
        assert lot is not None
        assert lot.status == "waiting"


class TestTrackOut:
    async def test_refusal_is_notified(self, demo_line: Engine) -> None:
        """o on a waiting lot shows the refusal as an error notification; nothing moves."""
        async with running(demo_line) as h:
            await select_lot(h, "L001")
            await h.press("o")
            assert any("only a running lot" in m for m in h.errors())
        lot = reads.lot(demo_line, "L001")
        assert lot is not None
        assert (lot.step, lot.status) == ("MOLD", "waiting")


class TestHoldRelease:
    async def test_hold_with_reason(self, demo_line: Engine) -> None:
        """h + a reason puts the lot on hold; the table shows the reason."""
        async with running(demo_line) as h:
            await select_lot(h, "L002")
            await h.press("h")
            await h.type("scratched wafer 7")
            await h.press("enter")
            lot = reads.lot(demo_line, "L002")
            assert lot is not None
            assert lot.on_hold
            assert lot.hold_reason == "scratched wafer 7"
            table = h.table("lots")
            assert column(table, "hold")["L002"] == "scratched wafer 7"
            assert column(table, "status")["L002"] == "on hold"
            assert column(table, "hold")["L001"] == ""

    async def test_a_reason_typed_in_a_burst_is_taken_whole(self, demo_line: Engine) -> None:
        """Keys that arrive together with Enter (a scanner, a paste) are all in the value
        the dialog submits: Enter is seen first, but the value is read after them."""
        async with running(demo_line) as h:
            await select_lot(h, "L002")
            await h.press("h")
            await h.burst("carrier CAR-0815 label torn")
            assert h.app.screen is h.app.screen_stack[0]  # the dialog closed
            lot = reads.lot(demo_line, "L002")
            assert lot is not None and lot.hold_reason == "carrier CAR-0815 label torn"

    async def test_hold_code_and_the_release_it_needs(self, demo_line: Engine) -> None:
        """'quality: …' places a quality hold; the operator's release is refused in the
        dialog with the missing permission, and the hold stays."""
        async with running(demo_line) as h:
            await select_lot(h, "L002")
            await h.press("h")
            await h.type("quality: voids at X-ray")
            await h.press("enter")
            (hold,) = reads.holds(demo_line, "L002")
            assert (hold.code, hold.reason) == ("quality", "voids at X-ray")
            await h.press("r")
            await h.type("looks fine")
            await h.press("enter")
            assert "may not lot.release_engineering" in modal(h).error
        lot = reads.lot(demo_line, "L002")
        assert lot is not None and lot.on_hold

    async def test_release_with_reason(self, demo_line: Engine) -> None:
        """r + a reason releases the lot; the table no longer shows a hold."""
        lots.hold(demo_line, OPERATOR, "L001", "wrong carrier")
        async with running(demo_line) as h:
            await select_lot(h, "L001")
            assert column(h.table("lots"), "hold")["L001"] == "wrong carrier"
            await h.press("r")
            await h.type("carrier swapped")
            await h.press("enter")
            lot = reads.lot(demo_line, "L001")
            assert lot is not None
            assert not lot.on_hold
            assert column(h.table("lots"), "hold")["L001"] == ""
        (hold,) = reads.holds(demo_line, "L001")
        assert hold.release_reason == "carrier swapped"

    async def test_release_of_a_lot_not_on_hold_is_refused(self, demo_line: Engine) -> None:
        """r on a lot that is not held warns and opens no dialog."""
        async with running(demo_line) as h:
            await select_lot(h, "L001")
            await h.press("r")
            assert h.app.screen is h.app.screen_stack[0]
            assert any("not on hold" in n.message for n in h.notes)

    async def test_empty_reason_is_refused(self, demo_line: Engine) -> None:
        """An empty (or blank) reason is refused in the dialog; no hold is placed."""
        async with running(demo_line) as h:
            await select_lot(h, "L001")
            await h.press("h", "enter")
            assert "reason: must not be empty" in modal(h).error
            await h.type("   ")
            await h.press("enter")
            assert "reason: must not be empty" in modal(h).error
            await h.press("escape")
        assert reads.holds(demo_line, "L001") == []

    async def test_escape_cancels(self, demo_line: Engine) -> None:
        """Escape closes the dialog without acting, even with a reason typed."""
        async with running(demo_line) as h:
            await select_lot(h, "L001")
            await h.press("h")
            await h.type("q")  # typed into the field, not the quit key
            await h.press("escape")
            assert h.app.screen is h.app.screen_stack[0]
            assert h.app.is_running
        assert reads.holds(demo_line, "L001") == []


class TestRefresh:
    async def test_interval_picks_up_changes(self, demo_line: Engine) -> None:
        """Changes made by another actor appear without a key press."""
        async with running(demo_line, refresh_s=0.05) as h:
            lots.create(demo_line, OPERATOR, "L009", "demo-route", 5)
            for _ in range(400):
                await h.pilot.pause(0.05)
                if "L009" in column(h.table("lots"), "id"):
                    break
            assert column(h.table("lots"), "wafers")["L009"] == "5"

    async def test_cursor_stays_on_its_row(self, demo_line: Engine) -> None:
        """A refresh that inserts a row above keeps the cursor on the same lot."""
        async with running(demo_line) as h:
            await select_lot(h, "L002")
            lots.create(demo_line, OPERATOR, "L000", "demo-route", 5)
            h.app.screen_stack[0].refresh_now()  # type: ignore[attr-defined]
            await settle(h.pilot)
            table = h.table("lots")
            assert [str(r.key.value) for r in table.ordered_rows] == ["L000", "L001", "L002"]
            assert table.cursor_row == 2

    async def test_trend_follows_the_selected_tool(self, busy_line: Engine) -> None:
        """The trend shows the run of the tool under the Tools cursor; moving the cursor
        to an idle tool says it has no run, and moving back shows the run again."""
        tools.register(busy_line, "admin", "OVEN-02", "cure_oven")
        async with running(busy_line) as h:
            trend = h.app.screen_stack[0].query_one("#trend")
            assert trend.border_title == f"Trend · {OVEN} · run 1 · lot L002"
            await h.press("down")
            assert trend.border_title == "Trend · OVEN-02"
            await h.press("up")
            assert trend.border_title == f"Trend · {OVEN} · run 1 · lot L002"


class TestActor:
    async def test_unknown_actor_is_reported(self, demo_line: Engine) -> None:
        """An actor that is not a user gets one error at start, and actions are refused."""
        async with running(demo_line, actor="nobody") as h:
            assert h.errors() == ["user 'nobody' does not exist: every action will be refused"]
            await select_lot(h, "L001")
            await h.press("h")
            await h.type("test")
            await h.press("enter")
            assert "user 'nobody' does not exist" in modal(h).error
        assert reads.holds(demo_line, "L001") == []
