"""SEMI E10 time accounting: the pure calculation and the log written by runs and people."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mes.cli.main import main
from mes.domain.e10 import Change, account
from mes.domain.equipment import E10State
from mes.domain.errors import InvalidInput, NotFound
from mes.services import e10, lots, reads, runs, tools
from mes.services.runs import Verdict
from mes.services.tx import transaction
from mes.store.tables import Audit, ToolStateChange
from tests.helpers import lot_at_pmc

T0 = datetime(2026, 11, 1, tzinfo=UTC)
P, S, U, N = (
    E10State.PRODUCTIVE,
    E10State.STANDBY,
    E10State.UNSCHEDULED_DOWN,
    E10State.NON_SCHEDULED,
)
E, D = E10State.ENGINEERING, E10State.SCHEDULED_DOWN


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

    def test_all_six_states_and_the_ratios(self) -> None:
        """A 10 h period: 1 h non-scheduled, 9 h operations of which 1 h scheduled and
        2 h unscheduled down; uptime 6 h = 3 productive + 2 standby + 1 engineering. A change
        after the period does not count."""
        changes = [
            Change(N, at(-1)),
            Change(D, at(1)),
            Change(P, at(2)),
            Change(E, at(5)),
            Change(U, at(6)),
            Change(S, at(8)),
            Change(P, at(10)),
        ]
        a = account(changes, at(0), at(10))
        assert {k: v / 3600 for k, v in a.seconds.items()} == {
            N: 1,
            D: 1,
            P: 3,
            E: 1,
            U: 2,
            S: 2,
        }
        assert (a.total_s, a.operations_s) == (10 * 3600, 9 * 3600)
        assert (a.uptime_s, a.downtime_s, a.unknown_s) == (6 * 3600, 3 * 3600, 0)
        assert a.availability == pytest.approx(6 / 9)
        assert a.operational_utilization == pytest.approx(3 / 9)
        assert a.total_utilization == pytest.approx(3 / 10)

    def test_all_non_scheduled_has_no_ratios(self) -> None:
        """No operations time: the ratios are undefined (None), not a division by zero."""
        a = account([Change(N, at(-3))], at(0), at(2))
        assert (a.operations_s, a.availability, a.operational_utilization) == (0, None, None)
        assert a.total_utilization == 0

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

    def test_completed_run_returns_the_tool_to_standby(self, leased: Engine) -> None:
        """Run start → productive (with the run id), a completed run → standby."""
        lot_at_pmc(leased)
        res = lots.track_in(leased, "op1", "L001", "OVEN-01")
        assert res.run_id is not None
        runs.claim(leased, "equipment", ["OVEN-01"])
        assert reads.tools(leased)[0].e10_state == "standby"  # claimed, not yet started
        runs.mark_started(leased, "equipment", res.run_id, 25.0)
        assert reads.tools(leased)[0].e10_state == "productive"
        runs.finish(leased, "equipment", res.run_id, Verdict(True, [], {}))
        log = state_log(leased)
        assert [(r.state, r.run_id) for r in log] == [
            ("standby", None),
            ("productive", res.run_id),
            ("standby", res.run_id),
        ]
        assert log[2].reason == f"run {res.run_id} ended"
        assert [r.since for r in log] == sorted(r.since for r in log)

    def test_operator_sets_a_state_and_a_repeat_is_not_a_change(self, line: Engine) -> None:
        """An operator takes the tool down for PM: one row with actor and reason; setting the
        same state again logs nothing new."""
        tools.set_state(line, "op1", "OVEN-01", "scheduled_down", "weekly PM")
        tools.set_state(line, "op1", "OVEN-01", "scheduled_down", "still PM")
        log = state_log(line)
        assert [(r.state, r.actor, r.reason) for r in log] == [
            ("standby", "equipment", "registered"),
            ("scheduled_down", "op1", "weekly PM"),
        ]

    def test_tool_alarm_when_idle_takes_a_standby_tool_down(self, line: Engine) -> None:
        """A tool's own alarm with no run puts a standby tool unscheduled down (audited);
        a process excursion does not, nor does a tool alarm during engineering."""
        runs.record_alarm(
            line, "equipment", tool_id="OVEN-01", kind="excursion", code="O2", message="o2 high"
        )
        assert reads.tools(line)[0].e10_state == "standby"
        runs.record_alarm(
            line,
            "equipment",
            tool_id="OVEN-01",
            kind="tool",
            code="tool_overtemp",
            message="oven reports overtemp",
        )
        assert reads.tools(line)[0].e10_state == "unscheduled_down"
        last = state_log(line)[-1]
        assert (last.actor, last.reason) == (
            "equipment",
            "alarm tool_overtemp: oven reports overtemp",
        )
        with Session(line) as s:
            audited = s.exec(select(Audit).where(Audit.action == "tool.state")).all()
        assert [(a.actor, a.entity_id) for a in audited] == [("equipment", "OVEN-01")]
        tools.set_state(line, "eng1", "OVEN-01", "engineering", "overtemp switch check")
        runs.record_alarm(
            line,
            "equipment",
            tool_id="OVEN-01",
            kind="tool",
            code="tool_overtemp",
            message="tripped on purpose",
        )
        assert reads.tools(line)[0].e10_state == "engineering"


def state_log(engine: Engine) -> list[ToolStateChange]:
    with Session(engine) as s:
        return list(s.exec(select(ToolStateChange).order_by(ToolStateChange.id)))  # type: ignore[arg-type]


class TestReport:
    @pytest.fixture
    def history(self, line: Engine) -> Engine:
        """OVEN-02 with a known day (2026-11-01): standby from the day before, productive
        02–08, unscheduled down 08–10, standby, non-scheduled from 20."""
        tools.register(line, "equipment", "OVEN-02", "cure_oven")
        with transaction(line) as s:
            for state, h in [(S, -5), (P, 2), (U, 8), (S, 10), (N, 20)]:
                s.add(ToolStateChange(tool_id="OVEN-02", state=state, since=at(h), actor="t"))
        return line

    def test_report_over_a_day(self, history: Engine) -> None:
        """Hours per state over the day, read back from the log on either backend; a tool
        registered after the period has only unknown time in it."""
        rows = {r.tool_id: r.accounting for r in e10.report(history, at(0), at(24))}
        oven2 = rows["OVEN-02"]
        assert {k: v / 3600 for k, v in oven2.seconds.items() if v} == {S: 12, P: 6, U: 2, N: 4}
        assert oven2.operational_utilization == pytest.approx(0.3)
        assert rows["OVEN-01"].unknown_s == 24 * 3600 and rows["OVEN-01"].total_s == 0

    def test_report_clips_to_the_period_and_filters_tools(self, history: Engine) -> None:
        """[07:00, 09:00): 1 h productive, 1 h down; only the tools asked for."""
        (row,) = e10.report(history, at(7), at(9), ["OVEN-02"])
        assert (row.accounting.seconds[P], row.accounting.seconds[U]) == (3600, 3600)
        with pytest.raises(NotFound, match="tool 'OVEN-09' does not exist"):
            e10.report(history, at(7), at(9), ["OVEN-02", "OVEN-09"])

    def test_cli_json_and_bad_periods(
        self, history: Engine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`--json` after the verb; a period ending before it starts and an unknown tool
        are refused with exit 2, naming the option or the tool."""
        if history.dialect.name != "sqlite":
            pytest.skip("the CLI half addresses the SQLite file")
        db = ["--db", str(history.url)]
        period = ["--from", "2026-11-01T00:00", "--to", "2026-11-02T00:00Z"]
        assert main([*db, "report", "e10", *period, "--tool", "OVEN-02", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        (tool,) = data["tools"]
        assert tool["seconds"]["productive"] == 6 * 3600
        assert tool["operational_utilization"] == pytest.approx(0.3)
        assert data["start"] == "2026-11-01T00:00:00+00:00"
        bad = ["--from", "2026-11-02T00:00", "--to", "2026-11-01T00:00"]
        assert main([*db, "report", "e10", *bad]) == 2
        assert "--from 2026-11-02 00:00: must be before --to" in capsys.readouterr().err
        assert main([*db, "report", "e10", "--tool", "OVEN-09"]) == 2
        assert "tool 'OVEN-09' does not exist" in capsys.readouterr().err
