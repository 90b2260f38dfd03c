"""`pkgline lot metrology` and `pkgline tool maintain`: η learned from measured Cu
thickness, bath life in amp-hours and the make-up that resets it.

The line is set up through the CLI (users, recipe, route, tool) and through mes.services
for what a daemon does (lease, bath limit, claim, start and finish a plating run).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.cli.main import main
from mes.services import plating, runs, tools
from mes.services.plating import WaferPlating
from mes.services.runs import Verdict
from mes.store.db import make_engine
from mes.store.tables import Audit, PlatingRecord, Tool, ToolStateChange
from tests.helpers import Cli

REPO = Path(__file__).resolve().parents[3]
PLATING_RECIPE = REPO / "recipes" / "library" / "rdl-cu-5um.toml"
PLATER = "PLATER-01"
BATH_LIMIT_AH = 2.0
EQUIPMENT_USER, EQUIPMENT_PASSWORD = "eqp1", "eqp1-pass-123"
ROUTE_TOML = """\
name = "cu-plate"

[[steps]]
name = "PLATE"
tool_type = "plating_tool"
recipe = "rdl-cu-5um"

[[steps]]
name = "STRIP_ETCH"
"""


def records(lot_id: str) -> list[WaferPlating]:
    """Two wafers at η 0.9: 5.5 and 5.474 µm at η = 1; 8451.5 C = 2.35 A·h in all."""
    return [
        WaferPlating(f"{lot_id}-W01", 1, 4236.0, 0.9, 4.950, 5.500),
        WaferPlating(f"{lot_id}-W02", 2, 4215.5, 0.9, 4.928, 5.474, gaps=1, unverified_s=12.0),
    ]


@dataclass
class Line:
    cli: Cli
    engine: Engine

    def __call__(self, user: str, *argv: str) -> int:
        return self.cli(user, *argv)

    def tool(self, tool_id: str = PLATER) -> Tool:
        with Session(self.engine) as s:
            tool = s.get(Tool, tool_id)
            assert tool is not None
            return tool

    def measured(self) -> dict[str, float | None]:
        with Session(self.engine) as s:
            rows = s.exec(select(PlatingRecord).order_by(col(PlatingRecord.id)))
            return {r.wafer_id: r.measured_um for r in rows}

    def audits(self) -> list[Audit]:
        with Session(self.engine) as s:
            return list(s.exec(select(Audit).order_by(col(Audit.seq))))

    def lot(self, lot_id: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
        capsys.readouterr()
        assert main([*self.cli.db, "--json", "lot", "list"]) == 0
        rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
        return rows[lot_id]

    def plate(self, lot_id: str, tool_id: str = PLATER) -> int:
        """Track the lot in on the tool (CLI), then run it as the daemon would (services)."""
        assert self("op1", "lot", "track-in", lot_id, "--tool", tool_id) == 0
        (ticket,) = runs.claim(self.engine, "equipment", [tool_id])
        runs.mark_started(self.engine, "equipment", ticket.run_id, start_c=22.0)
        runs.finish(
            self.engine,
            "equipment",
            ticket.run_id,
            Verdict(True, [], {}, platings=records(lot_id)),
        )
        return ticket.run_id


@pytest.fixture
def line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Line]:
    """A fresh SQLite line: admin, op1, eng1 and an equipment-role login eqp1; rdl-cu-5um
    approved; route cu-plate (PLATE → STRIP_ETCH); PLATER-01 registered, qualified for
    PLATE, leased by a daemon, bath limit 2 A·h; lots L1 and L2 (2 wafers) wait at PLATE."""
    url = f"sqlite:///{tmp_path / 'plating.db'}"
    cli = Cli(["--db", url], monkeypatch)
    cli.init()
    cli.add_user("op1", "operator")
    cli.add_user("eng1", "engineer")
    cli.stdin(EQUIPMENT_PASSWORD)
    assert (
        cli("admin", "user", "add", EQUIPMENT_USER, "--roles", "equipment", "--password-stdin") == 0
    )
    cli.login(EQUIPMENT_USER, EQUIPMENT_PASSWORD)
    assert cli("eng1", "recipe", "import", str(PLATING_RECIPE)) == 0
    assert cli("eng1", "recipe", "approve", "rdl-cu-5um", "1") == 0
    route = tmp_path / "cu-plate.toml"
    route.write_text(ROUTE_TOML, encoding="utf-8")
    assert cli("eng1", "route", "import", str(route)) == 0
    assert cli("eng1", "tool", "register", PLATER, "plating_tool") == 0
    assert cli("eng1", "tool", "qualify", PLATER, "PLATE") == 0
    for lot_id in ("L1", "L2"):
        assert cli("op1", "lot", "create", lot_id, "--route", "cu-plate", "--wafers", "2") == 0
    engine = make_engine(url)
    plating.set_bath_limit(engine, "eng1", PLATER, BATH_LIMIT_AH)
    assert tools.heartbeat(engine, "daemon-1", [PLATER], ttl_s=600) == [PLATER]
    cli.login("op1")  # every session needed later is open: logins write no audit mid-test
    yield Line(cli, engine)
    engine.dispose()


@pytest.fixture
def plated(line: Line) -> Line:
    """L1's two wafers plated in run 1 on PLATER-01 (no metrology yet); L2 never plated."""
    assert line.plate("L1") == 1
    return line


class TestMetrology:
    def test_good_entry_prints_eta_change_and_updates_records(
        self, plated: Line, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A measured thickness marks the run's records measured, teaches the tool's η and
        says η before → after; the entry is audited."""
        assert plated.tool().eta is None
        capsys.readouterr()
        assert plated("op1", "lot", "metrology", "L1", "--thickness-um", "5.2") == 0
        captured = capsys.readouterr()
        assert captured.out == (
            "lot L1: measured 5.2 µm, computed 4.94 µm on 2 wafer(s); η 0.900 → 0.948\n"
        )
        assert captured.err == ""
        assert plated.measured() == {"L1-W01": 5.2, "L1-W02": 5.2}
        tool = plated.tool()
        assert tool.eta == pytest.approx(5.2 / ((5.5 + 5.474) / 2))
        assert json.loads(tool.eta_ratios_json or "[]") == [pytest.approx(tool.eta)]
        last = plated.audits()[-1]
        assert (last.actor, last.action, last.entity_id) == ("op1", "metrology", "L1")
        assert main([*plated.cli.db, "lot", "show", "L1"]) == 0
        show = capsys.readouterr().out
        assert show.count("5.20") == 2  # the measured column of both wafers

    def test_json_output(self, plated: Line, capsys: pytest.CaptureFixture[str]) -> None:
        capsys.readouterr()
        argv = ["--json", "lot", "metrology", "L1", "--thickness-um", "5.2"]
        assert plated("op1", *argv) == 0
        data = json.loads(capsys.readouterr().out)
        assert (data["wafers"], data["measured_um"], data["learned_from"]) == (2, 5.2, 2)
        assert data["eta_before"] == 0.9 and round(data["eta_after"], 3) == 0.948

    def test_second_entry_corrects_the_value_without_teaching_again(
        self, plated: Line, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert plated("op1", "lot", "metrology", "L1", "--thickness-um", "5.2") == 0
        eta = plated.tool().eta
        capsys.readouterr()
        assert plated("op1", "lot", "metrology", "L1", "--thickness-um", "5.0") == 0
        out = capsys.readouterr().out
        assert "η 0.948 → 0.948; η not learned again: these wafers were measured before" in out
        assert plated.measured() == {"L1-W01": 5.0, "L1-W02": 5.0}
        assert plated.tool().eta == eta

    def test_one_wafer(self, plated: Line, capsys: pytest.CaptureFixture[str]) -> None:
        """--wafer measures one wafer of the run; the other keeps no measurement."""
        capsys.readouterr()
        argv = ["lot", "metrology", "L1", "--thickness-um", "5.3", "--wafer", "L1-W01"]
        assert plated("op1", *argv) == 0
        assert "computed 4.95 µm on 1 wafer(s)" in capsys.readouterr().out
        assert plated.measured() == {"L1-W01": 5.3, "L1-W02": None}

    def test_upper_limit_is_inclusive(self, plated: Line) -> None:
        """100 µm is the largest thickness accepted; η stays inside the recipe's bounds."""
        assert plated("op1", "lot", "metrology", "L1", "--thickness-um", "100") == 0
        assert plated.tool().eta == 0.98  # the recipe's eta_max

    @pytest.mark.parametrize(
        ("value", "shown"),
        [("0", "0.0"), ("-1", "-1.0"), ("101", "101.0"), ("nan", "nan"), ("inf", "inf")],
    )
    def test_bad_thickness_names_field_and_limit_and_changes_nothing(
        self, plated: Line, capsys: pytest.CaptureFixture[str], value: str, shown: str
    ) -> None:
        before = len(plated.audits())
        capsys.readouterr()
        assert plated("op1", "lot", "metrology", "L1", f"--thickness-um={value}") == 2
        captured = capsys.readouterr()
        assert captured.err == f"pkgline: thickness = {shown} µm: must be in (0, 100]\n"
        assert captured.out == ""
        assert plated.measured() == {"L1-W01": None, "L1-W02": None}
        assert plated.tool().eta is None
        assert len(plated.audits()) == before

    def test_thickness_not_a_number_is_a_usage_error(
        self, plated: Line, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = len(plated.audits())
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            plated("op1", "lot", "metrology", "L1", "--thickness-um", "abc")
        assert info.value.code == 2
        assert "argument --thickness-um: invalid float value: 'abc'" in capsys.readouterr().err
        assert plated.measured() == {"L1-W01": None, "L1-W02": None}
        assert len(plated.audits()) == before

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["L2"], "lot L2 has no plating record to compare with"),
            (["L404"], "lot L404 has no plating record to compare with"),
            (["L1", "--wafer", "L1-W09"], "wafer 'L1-W09' was not plated in run 1"),
        ],
    )
    def test_nothing_to_compare_with_is_refused(
        self, plated: Line, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
    ) -> None:
        before = len(plated.audits())
        capsys.readouterr()
        assert plated("op1", "lot", "metrology", *argv, "--thickness-um", "5.2") == 2
        assert capsys.readouterr().err == f"pkgline: {message}\n"
        assert plated.measured() == {"L1-W01": None, "L1-W02": None}
        assert len(plated.audits()) == before

    def test_needs_a_login(self, plated: Line, capsys: pytest.CaptureFixture[str]) -> None:
        capsys.readouterr()
        assert main([*plated.cli.db, "lot", "metrology", "L1", "--thickness-um", "5.2"]) == 2
        assert "not logged in to this database" in capsys.readouterr().err
        assert plated.measured() == {"L1-W01": None, "L1-W02": None}

    def test_equipment_role_is_refused_and_audited(
        self, plated: Line, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Metrology needs lot.move, which the equipment role lacks; the refusal is audited."""
        before = len(plated.audits())
        capsys.readouterr()
        argv = ["lot", "metrology", "L1", "--thickness-um", "5.2"]
        assert plated(EQUIPMENT_USER, *argv) == 2
        assert capsys.readouterr().err == "pkgline: eqp1 (equipment) may not lot.move\n"
        audits = plated.audits()
        assert len(audits) == before + 1
        assert (audits[-1].actor, audits[-1].action, audits[-1].entity_id) == (
            EQUIPMENT_USER,
            "denied",
            "lot.move",
        )
        assert plated.measured() == {"L1-W01": None, "L1-W02": None}
        assert plated.tool().eta is None


class TestMaintain:
    def test_bath_at_its_limit_blocks_track_in_until_maintained(
        self, plated: Line, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The run that passed the limit leaves the tool scheduled_down and track-in is
        refused naming the bath; `tool maintain` zeroes the amp-hours, puts the tool in
        standby (audited, logged as an E10 change) and the next lot tracks in."""
        tool = plated.tool()
        assert tool.bath_ah == pytest.approx(8451.5 / 3600)
        assert tool.e10_state == "scheduled_down"
        capsys.readouterr()
        assert main([*plated.cli.db, "tool", "list"]) == 0
        assert "scheduled_down" in capsys.readouterr().out

        before = len(plated.audits())
        assert plated("op1", "lot", "track-in", "L2", "--tool", PLATER) == 2
        assert capsys.readouterr().err == (
            "pkgline: tool PLATER-01: bath life reached (2.3 of 2 A·h);"
            " record the bath maintenance first\n"
        )
        assert len(plated.audits()) == before
        assert plated.lot("L2", capsys)["status"] == "waiting"
        assert plated.tool().run_id is None

        argv = ["tool", "maintain", PLATER, "--reason", "bath make-up"]
        assert plated("op1", *argv) == 0
        assert capsys.readouterr().out == "tool PLATER-01: bath made up, standby\n"
        tool = plated.tool()
        assert (tool.bath_ah, tool.e10_state, tool.eta) == (0.0, "standby", None)
        assert tool.bath_limit_ah == BATH_LIMIT_AH  # the limit stays
        last = plated.audits()[-1]
        assert (last.actor, last.action, last.entity_id, last.reason) == (
            "op1",
            "tool.bath_maintenance",
            PLATER,
            "bath make-up",
        )
        assert json.loads(last.before_json or "{}")["bath_ah"] == pytest.approx(2.348, abs=1e-3)
        with Session(plated.engine) as s:
            change = s.exec(
                select(ToolStateChange)
                .where(ToolStateChange.tool_id == PLATER)
                .order_by(col(ToolStateChange.id).desc())
            ).first()
        assert change is not None
        assert (change.state, change.actor, change.reason) == ("standby", "op1", "bath make-up")

        capsys.readouterr()
        assert plated("op1", "lot", "track-in", "L2", "--tool", PLATER) == 0
        assert capsys.readouterr().out == "lot L2 tracked in at PLATE on PLATER-01 (run 2)\n"

    def test_setting_standby_by_hand_does_not_bypass_the_bath_limit(
        self, plated: Line, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Only the make-up clears the bath: a hand-set standby still refuses track-in."""
        assert plated("op1", "tool", "set-state", PLATER, "standby", "--reason", "try") == 0
        assert plated.tool().e10_state == "standby"
        capsys.readouterr()
        assert plated("op1", "lot", "track-in", "L2", "--tool", PLATER) == 2
        assert "bath life reached" in capsys.readouterr().err
        assert plated.tool().run_id is None

    def test_a_tool_down_for_an_alarm_stays_down_after_a_make_up(
        self, plated: Line, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A fresh bath clears the bath life, not an unscheduled down: the tool keeps that
        state until someone who checked the alarm sets it to standby."""
        reason = ["--reason", "rectifier tripped"]
        assert plated("op1", "tool", "set-state", PLATER, "unscheduled_down", *reason) == 0
        capsys.readouterr()
        assert plated("op1", "tool", "maintain", PLATER, "--reason", "bath make-up") == 0
        assert capsys.readouterr().out == "tool PLATER-01: bath made up, unscheduled_down\n"
        tool = plated.tool()
        assert (tool.bath_ah, tool.e10_state) == (0.0, "unscheduled_down")
        assert plated("op1", "lot", "track-in", "L2", "--tool", PLATER) == 2
        assert "unscheduled_down" in capsys.readouterr().err
        assert plated("op1", "tool", "set-state", PLATER, "standby", "--reason", "reset ok") == 0
        assert plated("op1", "lot", "track-in", "L2", "--tool", PLATER) == 0

    def test_maintenance_forgets_the_learned_eta(self, plated: Line) -> None:
        """A fresh bath starts again from the recipe's η."""
        assert plated("op1", "lot", "metrology", "L1", "--thickness-um", "5.2") == 0
        assert plated.tool().eta is not None
        assert plated("op1", "tool", "maintain", PLATER, "--reason", "bath make-up") == 0
        tool = plated.tool()
        assert (tool.eta, tool.eta_ratios_json) == (None, None)

    @pytest.mark.parametrize("user", ["op1", "eng1", "admin"])
    def test_people_with_tool_state_may_maintain(self, plated: Line, user: str) -> None:
        """tool.state is granted to operators, engineers and admins."""
        assert plated(user, "tool", "maintain", PLATER, "--reason", "bath make-up") == 0
        assert plated.tool().bath_ah == 0.0

    def test_equipment_role_is_refused_and_audited(
        self, plated: Line, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = len(plated.audits())
        capsys.readouterr()
        argv = ["tool", "maintain", PLATER, "--reason", "bath make-up"]
        assert plated(EQUIPMENT_USER, *argv) == 2
        assert capsys.readouterr().err == "pkgline: eqp1 (equipment) may not tool.state\n"
        audits = plated.audits()
        assert len(audits) == before + 1
        assert (audits[-1].actor, audits[-1].action, audits[-1].entity_id) == (
            EQUIPMENT_USER,
            "denied",
            "tool.state",
        )
        tool = plated.tool()
        assert tool.bath_ah == pytest.approx(8451.5 / 3600)
        assert tool.e10_state == "scheduled_down"

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["NOPE-9", "--reason", "bath make-up"], "tool 'NOPE-9' does not exist"),
            (
                ["OVEN-01", "--reason", "bath make-up"],
                "tool OVEN-01 is a cure_oven; it has no bath",
            ),
            ([PLATER, "--reason", "   "], "reason: must not be empty"),
            ([PLATER, "--reason", "x" * 501], "reason: at most 500 characters"),
        ],
    )
    def test_bad_input_exit_2_and_nothing_changes(
        self, plated: Line, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
    ) -> None:
        assert plated("eng1", "tool", "register", "OVEN-01", "cure_oven") == 0
        before = len(plated.audits())
        capsys.readouterr()
        assert plated("op1", "tool", "maintain", *argv) == 2
        captured = capsys.readouterr()
        assert captured.err == f"pkgline: {message}\n"
        assert captured.out == ""
        assert len(plated.audits()) == before
        tool = plated.tool()
        assert tool.bath_ah == pytest.approx(8451.5 / 3600)
        assert tool.e10_state == "scheduled_down"

    def test_reason_is_required(self, plated: Line, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as info:
            plated("op1", "tool", "maintain", PLATER)
        assert info.value.code == 2
        assert "the following arguments are required: --reason" in capsys.readouterr().err
        assert plated.tool().e10_state == "scheduled_down"

    def test_tool_with_a_run_in_progress_is_refused(
        self, line: Line, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bath is not made up under a requested or running run."""
        assert line("op1", "lot", "track-in", "L1", "--tool", PLATER) == 0
        before = len(line.audits())
        capsys.readouterr()
        assert line("op1", "tool", "maintain", PLATER, "--reason", "bath make-up") == 2
        assert capsys.readouterr().err == f"pkgline: tool {PLATER} has run 1 in progress\n"
        assert len(line.audits()) == before
        assert line.tool().run_id == 1
