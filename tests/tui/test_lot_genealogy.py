"""Split (s), merge (j) and genealogy (g) from the main screen."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from textual.widgets import DataTable, Input

from mes.domain.errors import InvalidInput
from mes.services import reads
from mes.tui.genealogy import GenealogyScreen, parse_merge, parse_split
from tests.tui.helpers import cells, running
from tests.tui.test_app import modal, select_lot


def wafers_of(engine: Engine, lot_id: str) -> int | None:
    row = reads.lot(engine, lot_id)
    return None if row is None else row.wafers


class TestSplitMerge:
    async def test_split_merge_and_the_genealogy_they_leave(self, demo_line: Engine) -> None:
        """s with '3, 4: …' moves two wafers into a child lot; a line without a colon is
        refused in the dialog and splits nothing; j brings the child back; g lists both."""
        async with running(demo_line) as h:
            await select_lot(h, "L001")
            await h.press("s")
            await h.type("3 4 edge chip")
            await h.press("enter")
            assert "a colon, then the reason" in modal(h).error
            assert wafers_of(demo_line, "L001") == 25
            modal(h).query_one(Input).value = ""
            await h.type("3, L001-W04: edge chip")
            await h.press("enter")
            assert h.app.screen is h.app.screen_stack[0]
            assert (wafers_of(demo_line, "L001"), wafers_of(demo_line, "L001.1")) == (23, 2)
            assert "L001 split: 2 wafer(s) now in lot L001.1" in [n.message for n in h.notes]

            await select_lot(h, "L001", focus=False)
            await h.press("j")
            await h.type("L001.1: re-inspected, within spec")
            await h.press("enter")
            assert wafers_of(demo_line, "L001") == 25
            assert reads.lot(demo_line, "L001.1") is None or wafers_of(demo_line, "L001.1") == 0

            await h.press("g")
            view = h.app.screen
            assert isinstance(view, GenealogyScreen)
            table = view.query_one("#genealogy-table", DataTable)
            rows = [cells(table, str(r.key.value)) for r in table.ordered_rows]
            assert [(r[1], r[2], r[4]) for r in rows] == [
                ("split", "L001 → L001.1", "L001-W03, L001-W04"),
                ("merge", "L001.1 → L001", "L001-W03, L001-W04"),
            ]
            await h.press("escape")
            assert h.app.screen is h.app.screen_stack[0]

    async def test_a_lot_never_split_says_so(self, demo_line: Engine) -> None:
        async with running(demo_line) as h:
            await select_lot(h, "L002")
            await h.press("g")
            view = h.app.screen
            assert isinstance(view, GenealogyScreen)
            assert view.note == "lot L002 was never split or merged"


def test_parse_split_and_merge() -> None:
    assert parse_split(" 3, L1-W04 : edge chip ") == (["3", "L1-W04"], "edge chip")
    assert parse_merge("L1.1: fine") == ("L1.1", "fine")
    with pytest.raises(InvalidInput, match="a colon, then the reason"):
        parse_split("3, 4 edge chip")
    with pytest.raises(InvalidInput, match="an empty name between commas"):
        parse_split("3,,4: x")
    with pytest.raises(InvalidInput, match="the lot to merge in"):
        parse_merge(": no lot")
