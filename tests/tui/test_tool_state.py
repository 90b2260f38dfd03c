"""e on the Tools table sets the selected tool's E10 state (e.g. back to standby)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from mes.domain.errors import InvalidInput
from mes.services import reads
from mes.tui.tool_state import parse_state
from tests.tui.helpers import OVEN, running
from tests.tui.test_app import modal, retype


def state_of(engine: Engine, tool_id: str) -> str:
    return next(t.e10_state for t in reads.tools(engine) if t.id == tool_id)


async def test_state_is_set_and_bad_lines_are_refused_in_the_dialog(demo_line: Engine) -> None:
    async with running(demo_line) as h:
        assert h.table("tools").selected_key == OVEN  # type: ignore[attr-defined]
        await h.press("e")
        assert f"Tool {OVEN} (cure_oven) is standby" in str(modal(h).query_one("#detail").content)  # type: ignore[attr-defined]
        await retype(h, "broken: x")
        assert "state 'broken' is not one of" in modal(h).error
        await retype(h, "productive: x")
        assert "productive is set by runs" in modal(h).error
        assert state_of(demo_line, OVEN) == "standby"
        await retype(h, "engineering: calibrating thermocouples")
        assert h.app.screen is h.app.screen_stack[0]
        assert f"{OVEN} is engineering" in [n.message for n in h.notes]
    assert state_of(demo_line, OVEN) == "engineering"


def test_parse_state() -> None:
    assert parse_state(" standby : checked ") == ("standby", "checked")
    with pytest.raises(InvalidInput, match="the state, a colon"):
        parse_state("standby")
