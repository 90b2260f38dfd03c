"""The wafers view: a lot's wafers with their cure state, and one wafer's thermal ledger and
plating records."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from textual.widgets import DataTable, Static

from mes.domain.diemap import DieBin, DiePlacement
from mes.services import diemaps, holds, ledger, reads
from mes.services.lookup import hold_wafers
from mes.tui.wafers import WafersScreen
from tests.tui.helpers import OPERATOR, Harness, cells, column, running
from tests.tui.test_app import select_lot


def wafers_view(h: Harness) -> WafersScreen:
    screen = h.app.screen
    assert isinstance(screen, WafersScreen), f"expected the wafers view, got {screen!r}"
    return screen


def table(h: Harness, name: str) -> DataTable[object]:
    return wafers_view(h).query_one(f"#{name}", DataTable)


class TestWafers:
    async def test_wafers_ledger_and_back(self, cured_line: Engine) -> None:
        """w lists the lot's wafers with their α, Tg, cures and time above Tg (blanks for a
        wafer never cured); Enter shows the ledger of the wafer under the cursor, one row
        per thermal step; Escape goes back to the main screen."""
        async with running(cured_line) as h:
            await select_lot(h, "L001")
            await h.press("w")
            view = wafers_view(h)
            assert view.lot_id == "L001"
            wafers = table(h, "wafer-table")
            assert h.app.focused is wafers
            assert wafers.row_count == 25
            alpha = column(wafers, "alpha")
            assert alpha["L001-W01"] == "0.991"
            assert alpha["L001-W02"] == "0.968"
            assert cells(wafers, "L001-W01") == [
                "L001-W01",
                "1",
                "emc-g700",
                "0.991",
                "171.3",
                "2",
                "354.0",  # (14040 + 7200) s
                "PI-CURE",
                "",  # no hold
            ]
            assert cells(wafers, "L001-W03") == ["L001-W03", "3", "", "", "", "", "", "", ""]
            assert wafers.border_title == "25 wafers, 2 cured"

            await h.press("enter")  # the cursor starts on wafer 1
            ledger = table(h, "ledger-table")
            assert view.ledger_wafer == "L001-W01"
            assert ledger.border_title == "Ledger · L001-W01 · 2 thermal steps"
            rows = [cells(ledger, str(r.key.value)) for r in ledger.ordered_rows]
            assert [r[1] for r in rows] == ["PMC", "PI-CURE"]
            assert rows[0][4:] == ["0.851", "0.972", "168.0", "234.0", "176.2", "0"]
            assert rows[1][4:] == ["0.972", "0.991", "171.3", "120.0", "231.4", "2"]

            await h.press("down", "enter")
            assert view.ledger_wafer == "L001-W02"
            assert list(column(ledger, "step").values()) == ["PMC"]
            assert list(column(ledger, "alpha_after").values()) == ["0.968"]

            await h.press("down", "enter")  # wafer 3: never cured
            assert view.ledger_wafer == "L001-W03"
            assert ledger.row_count == 0
            assert ledger.border_title == "Ledger · L001-W03 · never cured"
            assert view.error == ""

            await h.press("escape")
            assert h.app.screen is h.app.screen_stack[0]
            assert h.app.is_running
            assert h.errors() == []

    async def test_plating_records(self, plated_line: Engine) -> None:
        """For a plated lot the view also shows, under the ledger, the plating records of the
        wafer under the cursor: step, run, cell, charge, η, computed and measured thickness
        (blank before metrology), gaps and the seconds of them the tool did not confirm."""
        async with running(plated_line) as h:
            await select_lot(h, "L001")
            await h.press("w")
            view = wafers_view(h)
            assert table(h, "wafer-table").border_title == "25 wafers, 0 cured, 2 plated"
            plated = table(h, "plating-table")
            assert plated.display
            assert plated.border_title == "Plating · Enter on a wafer"

            await h.press("enter")
            assert view.ledger_wafer == "L001-W01"
            assert table(h, "ledger-table").border_title == "Ledger · L001-W01 · never cured"
            assert plated.border_title == "Plating · L001-W01 · 1 plating step"
            rows = [cells(plated, str(r.key.value)) for r in plated.ordered_rows]
            assert rows == [["1", "RDL1.PLATE", "1", "1", "4236.0", "0.900", "4.95", "", "0", "0"]]

            await h.press("down", "enter")
            assert cells(plated, "2") == [
                "1",
                "RDL1.PLATE",
                "1",
                "2",
                "4215.5",
                "0.900",
                "4.93",
                "",
                "1",
                "12",
            ]

            await h.press("down", "enter")  # wafer 3: never plated
            assert plated.row_count == 0
            assert plated.border_title == "Plating · L001-W03 · never plated"
            assert view.error == ""
            assert h.errors() == []

    async def test_plating_hidden_for_a_lot_never_plated(self, cured_line: Engine) -> None:
        """A lot without plating records shows no plating table."""
        async with running(cured_line) as h:
            await select_lot(h, "L001")
            await h.press("w", "enter")
            assert not table(h, "plating-table").display
            assert table(h, "wafer-table").border_title == "25 wafers, 2 cured"

    async def test_lot_without_cures(self, cured_line: Engine) -> None:
        """A lot none of whose wafers was cured lists its wafers with blank cure columns."""
        async with running(cured_line) as h:
            await select_lot(h, "L002")
            await h.press("w")
            wafers = table(h, "wafer-table")
            assert wafers.row_count == 12
            assert set(column(wafers, "alpha").values()) == {""}
            assert set(column(wafers, "cures").values()) == {""}
            assert wafers.border_title == "12 wafers, 0 cured"

    async def test_read_error_is_shown(
        self, cured_line: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A failed read shows its message in the view instead of crashing the app."""

        def broken(engine: Engine, lot_id: str) -> list[ledger.WaferCure]:
            raise OperationalError("SELECT", {}, Exception("database is locked"))

        monkeypatch.setattr(ledger, "cure_states", broken)
        async with running(cured_line) as h:
            await select_lot(h, "L001")
            await h.press("w")
            view = wafers_view(h)
            assert view.error.startswith("cannot read the wafers of L001:")
            assert "database is locked" in view.error
            assert table(h, "wafer-table").row_count == 0
            await h.press("enter", "escape")
            assert h.app.screen is h.app.screen_stack[0]

    async def test_no_lot_selected(self, demo_engine: Engine) -> None:
        """w on an empty Lots table warns and opens nothing; the app keeps running."""
        async with running(demo_engine) as h:
            await h.press("tab", "w")
            assert h.app.screen is h.app.screen_stack[0]
            assert any(n.message == "No lot selected" for n in h.notes)
            assert h.errors() == []
            await h.press("enter", "escape")
            assert h.app.screen is h.app.screen_stack[0]
            assert h.app.is_running


class TestWaferHold:
    async def test_h_holds_the_wafer_under_the_cursor_alone(self, demo_line: Engine) -> None:
        """In the wafers view, h with 'quality: …' holds only the selected wafer; the Hold
        column shows its code; an empty reason is refused in the dialog and holds nothing."""
        async with running(demo_line) as h:
            await select_lot(h, "L002")
            await h.press("w", "down", "h", "enter")
            assert h.app.screen.query_one("#error").display  # empty reason: refused
            assert holds.active_holds_of(demo_line, "L002") == []
            await h.type("quality: scratch at the notch")
            await h.press("enter")
            wafers = table(h, "wafer-table")
            hold_column = column(wafers, "hold")
            assert hold_column["L002-W02"] == "quality"
            assert {k for k, v in hold_column.items() if v} == {"L002-W02"}
            holds.hold(demo_line, OPERATOR, "L002", "waiting for the engineer", "engineering")
            await h.press("escape", "w")
            hold_column = column(table(h, "wafer-table"), "hold")
            assert hold_column["L002-W02"] == "quality, engineering (lot)"
            assert hold_column["L002-W05"] == "engineering (lot)"
        hold, _lot_hold = reads.holds(demo_line, "L002")
        assert (hold.code, hold.reason, hold_wafers(hold)) == (
            "quality",
            "scratch at the notch",
            ["L002-W02"],
        )


class TestDieMap:
    async def test_enter_shows_the_wafers_die_map_with_its_bins(self, demo_line: Engine) -> None:
        """Beside the ledger: the wafer's dies as `pkgline wafer map` draws them, bins
        counted; a wafer with no die map says so."""
        placed = [DiePlacement("L001-W01", x, y, "KGD-07") for y in range(2) for x in range(3)]
        diemaps.record_die_map(demo_line, OPERATOR, placed)
        bins = [DieBin("L001-W01", x, 0, 1 if x else 3) for x in range(3)]
        diemaps.record_bin_map(demo_line, OPERATOR, bins)
        async with running(demo_line) as h:
            await select_lot(h, "L001")
            await h.press("w", "enter")
            shown = wafers_view(h).query_one("#wafer-map", Static)
            assert str(shown.content) == (
                "311\n...\n\n6 dies: bin 1 ×2 · bin 3 ×1 · untested ×3\n'.' placed, untested"
            )
            assert shown.border_title == "Die map · L001-W01"
            await h.press("down", "enter")
            assert str(shown.content) == "no die map"
