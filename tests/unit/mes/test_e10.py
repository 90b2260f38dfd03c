"""SEMI E10 time accounting: the pure calculation and the log written by runs and people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mes.cli.main import main
from mes.domain.e10 import Change, account
from mes.domain.equipment import E10State
from mes.domain.errors import InvalidInput
from mes.services import e10, lots, runs, tools
from mes.services.runs import Verdict
from mes.store.tables import ToolStateChange
from tests.helpers import lot_at_pmc

T0 = datetime(2026, 11, 1, tzinfo=UTC)
P, S, U, N = (
    E10State.PRODUCTIVE,
    E10State.STANDBY,
    E10State.UNSCHEDULED_DOWN,
    E10State.NON_SCHEDULED,
)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


class TestAccounting:
    def test_hand_computed_day(self) -> None:
        """Standby from before the period, 6 h productive, 2 h down, 4 h non-scheduled."""
        changes = [
            Change(S, at(-5)),
            Change(P, at(2)),
            Change(U, at(8)),
            Change(S, at(10)),
            Change(N, at(20)),
        ]
        a = account(changes, at(0), at(24))
        assert a.seconds[P] == 6 * 3600 and a.seconds[U] == 2 * 3600
        assert a.seconds[S] == 12 * 3600 and a.seconds[N] == 4 * 3600
        assert a.operations_s == 20 * 3600 and a.uptime_s == 18 * 3600
        assert a.availability == pytest.approx(0.9)
        assert a.operational_utilization == pytest.approx(0.3)
        assert a.total_utilization == pytest.approx(0.25)

    def test_time_before_the_first_record_is_unknown(self) -> None:
        a = account([Change(P, at(6))], at(0), at(12))
        assert (a.unknown_s, a.seconds[P], a.total_s) == (6 * 3600, 6 * 3600, 6 * 3600)

    def test_empty_period_refused(self) -> None:
        with pytest.raises(InvalidInput, match="is not after the start"):
            account([], at(1), at(1))

    @given(
        st.lists(
            st.tuples(st.sampled_from(list(E10State)), st.floats(-48, 48)), min_size=1, max_size=12
        ),
        st.floats(-24, 24),
        st.floats(0.01, 48),
    )
    def test_states_and_unknown_fill_the_period(
        self, raw: list[tuple[E10State, float]], start_h: float, length_h: float
    ) -> None:
        changes = [Change(state, at(h)) for state, h in raw]
        a = account(changes, at(start_h), at(start_h + length_h))
        assert a.total_s + a.unknown_s == pytest.approx(length_h * 3600, abs=1e-3)
        assert all(v >= 0 for v in a.seconds.values())


class TestStateLog:
    def test_runs_and_people_write_the_log(self, leased: Engine) -> None:
        """Register → standby, run → productive, abort → unscheduled down, engineer → standby."""
        lot_at_pmc(leased)
        res = lots.track_in(leased, "op1", "L001", "OVEN-01")
        assert res.run_id is not None
        runs.claim(leased, "equipment", ["OVEN-01"])
        runs.mark_started(leased, "equipment", res.run_id, 25.0)
        runs.finish(
            leased, "equipment", res.run_id, Verdict(False, ["heater failed"], {}, aborted=True)
        )
        tools.set_state(leased, "eng1", "OVEN-01", "standby", "heater replaced")
        with Session(leased) as s:
            log = s.exec(select(ToolStateChange).order_by(ToolStateChange.id)).all()  # type: ignore[arg-type]
        assert [(r.state, r.actor) for r in log] == [
            ("standby", "equipment"),
            ("productive", "equipment"),
            ("unscheduled_down", "equipment"),
            ("standby", "eng1"),
        ]
        assert log[1].run_id == res.run_id and log[3].reason == "heater replaced"
        (row,) = e10.report(leased, log[0].since, datetime.now(UTC) + timedelta(seconds=1))
        assert row.tool_id == "OVEN-01" and row.accounting.unknown_s == pytest.approx(0, abs=1)
        assert row.accounting.seconds[E10State.UNSCHEDULED_DOWN] > 0

    def test_cli_report(self, leased: Engine, capsys: pytest.CaptureFixture[str]) -> None:
        db = ["--db", str(leased.url)] if leased.dialect.name == "sqlite" else None
        if db is None:
            pytest.skip("the CLI half addresses the SQLite file")
        assert main([*db, "report", "e10", "--tool", "OVEN-01"]) == 0
        out = capsys.readouterr().out
        assert "OVEN-01" in out and "productive" in out and "op. util" in out
        assert main([*db, "report", "e10", "--from", "yesterday"]) == 2
        assert "--from 'yesterday': not an ISO 8601 time" in capsys.readouterr().err
