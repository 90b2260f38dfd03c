"""Metrology entry: m asks for the measured Cu thickness of the lot's last plating run."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from textual.widgets import DataTable, Static

from mes.domain.errors import InvalidInput
from mes.services import plating
from mes.services.plating import WaferPlating
from mes.store.tables import Audit, PlatingRecord, Tool
from mes.tui.metrology import metrology_message, parse_thickness
from tests.tui.conftest import plate
from tests.tui.helpers import OPERATOR, PLATER, column, running
from tests.tui.test_app import modal, retype, select_lot
from tests.tui.test_wafers import wafers_view

MESSAGE = "L001: η 0.900 → 0.948 (measured 5.2 µm, computed 4.94 µm on 2 wafers)"


def tool_eta(engine: Engine) -> float | None:
    with Session(engine) as s:
        tool = s.get(Tool, PLATER)
        assert tool is not None
        return tool.eta


def measured(engine: Engine) -> list[float | None]:
    with Session(engine) as s:
        return [
            r.measured_um for r in s.exec(select(PlatingRecord).order_by(col(PlatingRecord.id)))
        ]


def metrology_events(engine: Engine) -> list[Audit]:
    with Session(engine) as s:
        return list(s.exec(select(Audit).where(Audit.action == "metrology")))


def nothing_changed(engine: Engine) -> None:
    assert tool_eta(engine) is None
    assert measured(engine) == [None, None]
    assert metrology_events(engine) == []


class TestMetrology:
    async def test_refused_then_recorded(self, plated_line: Engine) -> None:
        """m opens the dialog on the lot's last plating run; a non-number and an
        out-of-range thickness are refused in it and change nothing; a valid thickness
        updates the plater's η, marks the run's records measured and notifies η before →
        after."""
        async with running(plated_line) as h:
            await select_lot(h, "L001")
            await h.press("m")
            dialog = modal(h)
            assert dialog.query_one("#dialog").border_title == "Metrology"
            detail = str(dialog.query_one("#detail", Static).content)
            assert "run 1 plated 2 wafers at RDL1.PLATE, computed 4.94 µm at η 0.900" in detail

            await h.type("abc")
            await h.press("enter")
            assert dialog.error == "thickness 'abc' is not a number: enter µm, e.g. 5.2"
            nothing_changed(plated_line)

            await retype(h, "150")  # a number, but the service's range is (0, 100]
            assert h.app.screen is dialog
            assert "must be in (0, 100]" in dialog.error
            nothing_changed(plated_line)

            await retype(h, "5.2")
            assert h.app.screen is h.app.screen_stack[0]
            assert [n.message for n in h.notes if n.message.startswith("L001:")] == [MESSAGE]
            assert h.errors() == []

            await h.press("w", "enter")  # the wafers view, on wafer 1: its record is measured
            plated = wafers_view(h).query_one("#plating-table", DataTable)
            assert column(plated, "measured") == {"1": "5.20"}

        eta = tool_eta(plated_line)
        assert eta == pytest.approx(5.2 / ((5.500 + 5.474) / 2))
        assert measured(plated_line) == [5.2, 5.2]
        (event,) = metrology_events(plated_line)
        assert event.actor == "op1"

    async def test_empty_field_is_refused(self, plated_line: Engine) -> None:
        """Enter on an empty field says what to type; Escape then closes the dialog."""
        async with running(plated_line) as h:
            await select_lot(h, "L001")
            await h.press("m", "enter")
            assert "enter the measured Cu thickness in µm" in modal(h).error
            await h.press("escape")
            assert h.app.screen is h.app.screen_stack[0]
        nothing_changed(plated_line)

    async def test_escape_cancels(self, plated_line: Engine) -> None:
        """Escape closes the dialog without recording, even with a thickness typed."""
        async with running(plated_line) as h:
            await select_lot(h, "L001")
            await h.press("m")
            await h.type("5.2")
            await h.press("escape")
            assert h.app.screen is h.app.screen_stack[0]
            assert h.app.is_running
        nothing_changed(plated_line)

    async def test_lot_never_plated(self, plated_line: Engine) -> None:
        """m on a lot without plating records warns and opens no dialog."""
        async with running(plated_line) as h:
            await select_lot(h, "L002")
            await h.press("m")
            assert h.app.screen is h.app.screen_stack[0]
            assert any(n.message == "L002 has no plating record to measure" for n in h.notes)
            assert h.errors() == []

    async def test_service_refusal_is_shown(self, plated_line: Engine) -> None:
        """A refusal by the service (here: an actor who is no user) shows in the dialog."""
        async with running(plated_line, actor="nobody") as h:
            await select_lot(h, "L001")
            await h.press("m")
            await h.type("5.2")
            await h.press("enter")
            assert "user 'nobody' does not exist" in modal(h).error
        nothing_changed(plated_line)

    async def test_read_error_is_notified(
        self, plated_line: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A failed read of the plating records is an error notification, not a crash."""

        def broken(engine: Engine, lot_id: str) -> list[PlatingRecord]:
            raise InvalidInput("no such table")

        monkeypatch.setattr(plating, "records_of", broken)
        async with running(plated_line) as h:
            await select_lot(h, "L001")
            await h.press("m")
            assert h.app.screen is h.app.screen_stack[0]
            assert h.errors() == ["cannot read the plating records of L001: no such table"]


@pytest.mark.parametrize(
    ("text", "value"), [("5.2", 5.2), (" 4.9 ", 4.9), ("5", 5.0), ("1e1", 10.0), ("-3", -3.0)]
)
def test_parse_thickness(text: str, value: float) -> None:
    """Any finite number parses; the range is the service's to check."""
    assert parse_thickness(text) == value


@pytest.mark.parametrize("text", ["", "  ", "abc", "5.2um", "5,2", "nan", "inf"])
def test_parse_thickness_refuses(text: str) -> None:
    with pytest.raises(InvalidInput, match="thickness"):
        parse_thickness(text)


def test_eta_learns_only_from_charges_that_were_measured(plated_line: Engine) -> None:
    """A run whose wafers' charge was mostly estimated (a long unconfirmed hole) keeps its
    measurement but does not move η; the message says why."""
    plate(
        plated_line,
        "L002",
        [WaferPlating("L002-W01", 1, 4236.0, 0.9, 4.95, 5.5, gaps=1, unverified_s=650.0)],
    )
    result = plating.record_metrology(plated_line, OPERATOR, "L002", 5.2)
    assert (result.learned_from, result.eta_before, result.eta_after) == (0, 0.9, 0.9)
    assert "η not learned" in metrology_message("L002", result)
    assert tool_eta(plated_line) is None  # still the recipe's
    assert measured(plated_line)[-1] == 5.2
    learned = plating.record_metrology(plated_line, OPERATOR, "L001", 5.2)
    assert learned.learned_from == 2 and learned.eta_after != 0.9
    assert tool_eta(plated_line) == learned.eta_after


def test_a_second_entry_corrects_the_value_without_teaching_eta_again(
    plated_line: Engine,
) -> None:
    """The same run measured twice: the new value replaces the old, the audit keeps both, and
    η and its history are as after the first entry (one run is one sample)."""
    first = plating.record_metrology(plated_line, OPERATOR, "L001", 5.2)
    with Session(plated_line) as s:
        history = s.get(Tool, PLATER).eta_ratios_json  # type: ignore[union-attr]
    again = plating.record_metrology(plated_line, OPERATOR, "L001", 5.0)
    assert (again.learned_from, again.remeasured) == (0, 2)
    assert again.eta_before == again.eta_after == first.eta_after == tool_eta(plated_line)
    assert "η not learned again" in metrology_message("L001", again)
    assert measured(plated_line) == [5.0, 5.0]
    with Session(plated_line) as s:
        assert s.get(Tool, PLATER).eta_ratios_json == history  # type: ignore[union-attr]
    corrected = json.loads(metrology_events(plated_line)[-1].before_json or "{}")
    assert corrected["measured_um"] == [5.2]


def test_eta_is_the_moving_average_of_the_runs_measured(plated_line: Engine) -> None:
    """Two runs measured: η is the mean of their measured / theoretical(η = 1) ratios."""
    first = plating.record_metrology(plated_line, OPERATOR, "L001", 5.2)
    plate(plated_line, "L002", [WaferPlating("L002-W01", 1, 4236.0, 0.9, 4.95, 5.5)])
    second = plating.record_metrology(plated_line, OPERATOR, "L002", 4.8)
    ratio_1 = 5.2 / ((5.5 + 5.474) / 2)
    assert first.eta_after == pytest.approx(ratio_1)
    assert second.eta_before == first.eta_after
    assert second.eta_after == pytest.approx((ratio_1 + 4.8 / 5.5) / 2)
    assert tool_eta(plated_line) == second.eta_after
