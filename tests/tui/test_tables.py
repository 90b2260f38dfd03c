"""SyncTable on its own: what it draws after its rows change."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Region

from mes.tui.tables import LotsTable, Row

LONG_ID = "L-VERY-LONG-LOT-ID"


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield LotsTable(id="lots")


def row(lot_id: str) -> Row:
    return lot_id, [lot_id, "MOLD (1/3)", "waiting", "25", "—", ""]


async def test_header_redrawn_with_the_widths_of_new_rows() -> None:
    """A header drawn before the new rows were measured is drawn again with their widths."""
    app = OneTable()
    async with app.run_test(size=(100, 10)) as pilot:
        table = app.query_one(LotsTable)
        table.sync([row("L1")])
        await pilot.pause()
        table.sync([row("L1"), row(LONG_ID)])
        drawn = Region(0, 0, table.size.width, 3)
        table.render_lines(drawn)  # as the screen may, before the idle that measures the row
        await pilot.pause()
        header, _, long_row = (strip.text for strip in table.render_lines(drawn))
        assert header.startswith(" Lot" + " " * (len(LONG_ID) - len("Lot")) + "  Step "), header
        assert long_row.startswith(f" {LONG_ID}  MOLD (1/3) "), long_row
