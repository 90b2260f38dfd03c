"""Tool qualification: which tool may run which step and recipe, enforced at track-in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.domain.errors import InvalidInput, InvalidState, NotFound, PermissionDenied
from mes.domain.qualification import covering_steps
from mes.services import audit, lots, qualification, reads, routes, tools, users
from mes.store import migrate
from mes.store.db import make_engine
from mes.store.tables import Audit, Run
from tests.helpers import Cli, lot_at_pmc

REPO = Path(__file__).resolve().parents[3]


def audit_actions(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as s:
        rows = s.exec(select(Audit).order_by(col(Audit.seq)))
        return [(a.actor, a.action, a.entity_id) for a in rows]


class TestCoveringSteps:
    def test_block_step_is_covered_by_its_name_without_the_layer(self) -> None:
        """RDL1.PI_CURE is covered by 'RDL1.PI_CURE' and by 'PI_CURE'; PMC only by 'PMC'."""
        assert covering_steps("RDL1.PI_CURE") == ("RDL1.PI_CURE", "PI_CURE")
        assert covering_steps("PMC") == ("PMC",)


class TestTrackIn:
    def test_unqualified_tool_refused_with_the_fix(self, leased: Engine) -> None:
        """Without a qualification for the step, track-in says so and how to qualify; the
        lot stays waiting, no run is requested and the tool stays free."""
        qualification.disqualify(leased, "eng1", "OVEN-01", "PMC", None, "chamber requal due")
        lot_at_pmc(leased)
        with pytest.raises(InvalidState) as exc:
            lots.track_in(leased, "op1", "L001", "OVEN-01")
        assert str(exc.value) == (
            "tool OVEN-01 is not qualified for step PMC (recipe pmc-175); "
            "an engineer qualifies it with 'pkgline tool qualify OVEN-01 PMC'"
        )
        lot = reads.lot(leased, "L001")
        assert lot is not None and lot.status == "waiting"
        with Session(leased) as s:
            assert s.exec(select(Run)).all() == []
        assert reads.tools(leased)[0].run_id is None

    def test_recipe_qualification_covers_only_that_recipe(self, leased: Engine) -> None:
        """A qualification for step PMC with recipe pmc-175 lets the lot run pmc-175."""
        qualification.disqualify(leased, "eng1", "OVEN-01", "PMC", None, "narrow to pmc-175")
        q = qualification.qualify(leased, "eng1", "OVEN-01", "PMC", "pmc-175")
        assert (q.step, q.recipe, q.qualified_by) == ("PMC", "pmc-175", "eng1")
        lot_at_pmc(leased)
        assert lots.track_in(leased, "op1", "L001", "OVEN-01").run_id is not None

    def test_another_tools_qualification_does_not_count(self, leased: Engine) -> None:
        """OVEN-02 is not qualified just because OVEN-01 is."""
        tools.register(leased, "equipment", "OVEN-02", "cure_oven")
        tools.heartbeat(leased, "test-daemon", ["OVEN-02"], ttl_s=600)
        lot_at_pmc(leased)
        with pytest.raises(InvalidState, match="tool OVEN-02 is not qualified for step PMC"):
            lots.track_in(leased, "op1", "L001", "OVEN-02")
        qualification.qualify(leased, "eng1", "OVEN-02", "PMC")
        assert lots.track_in(leased, "op1", "L001", "OVEN-02").tool_id == "OVEN-02"


class TestQualify:
    def test_operator_may_not_qualify_and_the_refusal_is_audited(self, line: Engine) -> None:
        """Qualification is an engineer's decision: an operator is refused, on the record."""
        tools.register(line, "equipment", "OVEN-02", "cure_oven")
        with pytest.raises(
            PermissionDenied, match=re.escape("op1 (operator) may not tool.qualify")
        ):
            qualification.qualify(line, "op1", "OVEN-02", "PMC")
        assert qualification.qualifications(line, "OVEN-02") == []
        assert audit_actions(line)[-1] == ("op1", "denied", "tool.qualify")
        with pytest.raises(PermissionDenied):
            qualification.disqualify(line, "op1", "OVEN-01", "PMC", None, "no")
        assert len(qualification.qualifications(line, "OVEN-01")) == 2

    def test_qualify_and_disqualify_are_audited(self, line: Engine) -> None:
        """Both changes leave an audit record with the step and recipe; the chain verifies."""
        tools.register(line, "equipment", "OVEN-02", "cure_oven")
        qualification.qualify(line, "eng1", "OVEN-02", "PI_CURE", "pi-cure-230")
        qualification.disqualify(line, "eng1", "OVEN-02", "PI_CURE", "pi-cure-230", "drift")
        with Session(line) as s:
            rows = s.exec(
                select(Audit)
                .where(Audit.entity_id == "OVEN-02", col(Audit.action).like("tool.%qualify"))
                .order_by(col(Audit.seq))
            )
            records = [(a.action, a.reason, a.after_json, a.before_json) for a in rows]
            assert audit.verify(s).ok
        assert records[0][:2] == ("tool.qualify", None)
        assert json.loads(records[0][2] or "") == {"step": "PI_CURE", "recipe": "pi-cure-230"}
        assert records[1][:2] == ("tool.disqualify", "drift")
        assert json.loads(records[1][3] or "")["recipe"] == "pi-cure-230"

    def test_bad_scope_is_refused_naming_what_is_wrong(self, line: Engine) -> None:
        """Unknown steps, a step of another tool type, a recipe the step does not run and a
        duplicate are refused; nothing is added."""
        tools.register(line, "equipment", "PLATER-01", "plating_tool")
        with pytest.raises(InvalidInput, match="step 'CURE' is not a tool step of any"):
            qualification.qualify(line, "eng1", "OVEN-01", "CURE")
        with pytest.raises(InvalidInput, match="step 'GRIND' is not a tool step"):
            qualification.qualify(line, "eng1", "OVEN-01", "GRIND")  # a manual step
        with pytest.raises(
            InvalidInput, match="step PMC runs on a cure_oven; tool PLATER-01 is a plating_tool"
        ):
            qualification.qualify(line, "eng1", "PLATER-01", "PMC")
        with pytest.raises(InvalidInput, match="recipe 'pmc-200' is not run at step PMC"):
            qualification.qualify(line, "eng1", "OVEN-01", "PMC", "pmc-200")
        with pytest.raises(
            InvalidState, match=re.escape("already qualified for step PMC (any recipe)")
        ):
            qualification.qualify(line, "eng1", "OVEN-01", "PMC")
        with pytest.raises(NotFound, match="tool 'OVEN-09' does not exist"):
            qualification.qualify(line, "eng1", "OVEN-09", "PMC")
        with pytest.raises(
            NotFound, match=re.escape("no qualification for step PMC (recipe pmc-175)")
        ):
            qualification.disqualify(line, "eng1", "OVEN-01", "PMC", "pmc-175", "wrong one")
        assert [(q.tool_id, q.step) for q in qualification.qualifications(line)] == [
            ("OVEN-01", "PI_CURE"),
            ("OVEN-01", "PMC"),
        ]

    def test_block_step_qualified_without_its_layer(self, line: Engine) -> None:
        """On a route with an RDL block, 'PI_CURE' is a valid qualification for the oven."""
        routes.import_file(line, "eng1", REPO / "deploy" / "routes" / "info-wmcm.toml")
        tools.register(line, "equipment", "OVEN-02", "cure_oven")
        qualification.qualify(line, "eng1", "OVEN-02", "RDL2.PI_CURE")
        qualification.qualify(line, "eng1", "OVEN-02", "PI_CURE", "pi-cure-230")
        steps = [(q.step, q.recipe) for q in qualification.qualifications(line, "OVEN-02")]
        assert steps == [("PI_CURE", "pi-cure-230"), ("RDL2.PI_CURE", None)]


class TestUpgrade:
    def test_tools_of_an_older_line_stay_qualified_for_their_steps(self, engine: Engine) -> None:
        """Upgrading to qualifications qualifies each existing tool for every step of its
        type on the imported routes, so track-in goes on working after the upgrade."""
        everything = MetaData()
        everything.reflect(engine)
        everything.drop_all(engine)
        try:
            migrate.upgrade(engine, "0003")
            users.bootstrap(engine, "admin")
            routes.import_file(engine, "admin", REPO / "deploy" / "routes" / "info-wmcm.toml")
            tools.register(engine, "admin", "OVEN-01", "cure_oven")
            tools.register(engine, "admin", "PLATER-01", "plating_tool")
            migrate.upgrade(engine)
            got = {
                (q.tool_id, q.step, q.recipe, q.qualified_by)
                for q in qualification.qualifications(engine)
            }
            assert got == {
                ("OVEN-01", "PMC", None, "system"),
                ("OVEN-01", "RDL1.PI_CURE", None, "system"),
                ("OVEN-01", "RDL2.PI_CURE", None, "system"),
                ("PLATER-01", "RDL1.PLATE", None, "system"),
                ("PLATER-01", "RDL2.PLATE", None, "system"),
            }
        finally:
            everything = MetaData()
            everything.reflect(engine)
            everything.drop_all(engine)  # no alembic_version left for the next create_all


class TestCli:
    @pytest.fixture
    def cli(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
        url = f"sqlite:///{tmp_path / 'quals.db'}"
        cli = Cli(["--db", url], monkeypatch)
        cli.init()
        cli.add_user("op1", "operator")
        cli.add_user("eng1", "engineer")
        engine = make_engine(url)
        routes.import_file(engine, "eng1", REPO / "deploy" / "routes" / "fowlp-cure.toml")
        tools.register(engine, "equipment", "OVEN-01", "cure_oven")
        engine.dispose()
        return cli

    def test_qualify_list_disqualify(self, cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
        """An engineer qualifies and withdraws; an operator is refused with exit 2."""
        assert cli("op1", "tool", "qualify", "OVEN-01", "PMC") == 2
        assert "op1 (operator) may not tool.qualify" in capsys.readouterr().err
        assert cli("eng1", "tool", "qualify", "OVEN-01", "PMC", "--recipe", "pmc-175") == 0
        assert capsys.readouterr().out.strip() == (
            "tool OVEN-01 qualified for step PMC (recipe pmc-175)"
        )
        assert cli("op1", "--json", "tool", "quals", "OVEN-01") == 0
        (row,) = json.loads(capsys.readouterr().out)
        assert (row["tool_id"], row["step"], row["recipe"]) == ("OVEN-01", "PMC", "pmc-175")
        assert cli("eng1", "tool", "disqualify", "OVEN-01", "PMC", "--reason", "x") == 2
        assert "no qualification for step PMC (any recipe)" in capsys.readouterr().err
        args = ["tool", "disqualify", "OVEN-01", "PMC", "--recipe", "pmc-175", "--reason", "PM"]
        assert cli("eng1", *args) == 0
        capsys.readouterr()
        assert cli("op1", "tool", "quals") == 0
        assert "no qualifications: track-in refuses every tool" in capsys.readouterr().out

    def test_register_before_the_daemon(self, cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
        """An engineer registers a new press (standby) so it can be qualified before its
        daemon first runs; a tool type pkgline does not know is refused by name."""
        assert cli("eng1", "tool", "register", "PRESS-02", "molding_press") == 0
        assert capsys.readouterr().out.strip() == "tool PRESS-02 (molding_press) is standby"
        assert cli("eng1", "tool", "register", "X-1", "toaster") == 2
        assert "tool type 'toaster' is not one of: cure_oven" in capsys.readouterr().err
        assert cli("op1", "tool", "register", "PRESS-03", "molding_press") == 2
        assert "may not tool.register" in capsys.readouterr().err
