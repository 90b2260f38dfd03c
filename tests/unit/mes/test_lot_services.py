"""Lot transactions against a real database: rules, roles, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select, text

from mes.domain.errors import InvalidInput, InvalidState, NotFound, PermissionDenied
from mes.services import audit, lots, qualification, reads, recipes, routes, runs, tools, users
from mes.store.tables import Audit, Recipe, Run
from tests.helpers import lot_at_pmc, recipe_v2

REPO = Path(__file__).resolve().parents[3]


class TestTrackIn:
    def test_manual_step_moves_lot_to_next_step(self, leased: Engine) -> None:
        """Track-in/out of a manual step advances the lot and audits both moves."""
        lot_at_pmc(leased)
        row = reads.lot(leased, "L001")
        assert row is not None
        assert (row.step, row.status) == ("PMC", "waiting")
        with Session(leased) as s:
            actions = [a.action for a in s.exec(select(Audit))]
        assert actions.count("lot.track_in") == 1
        assert actions.count("lot.track_out") == 1

    def test_oven_step_writes_run_request(self, leased: Engine) -> None:
        """Track-in at the oven step requests a run of the approved recipe on that tool."""
        lot_at_pmc(leased)
        res = lots.track_in(leased, "op1", "L001", "OVEN-01")
        assert res.run_id is not None
        with Session(leased) as s:
            run = s.get(Run, res.run_id)
        assert run is not None
        assert (run.recipe_name, run.status, run.tool_id) == ("pmc-175", "requested", "OVEN-01")
        assert reads.tools(leased)[0].run_id == res.run_id
        # The daemon claiming it is a state change too: requested → running, audited once.
        assert [t.run_id for t in runs.claim(leased, "equipment", ["OVEN-01"])] == [res.run_id]
        assert runs.claim(leased, "equipment", ["OVEN-01"]) == []
        with Session(leased) as s:
            claims = s.exec(select(Audit).where(Audit.action == "run.claim")).all()
        assert [(a.actor, a.entity_id) for a in claims] == [("equipment", str(res.run_id))]

    def test_runs_only_approved_versions(self, leased: Engine, tmp_path: Path) -> None:
        """A new version waits for approval: lots run the newest approved one, and approval
        records who and when."""
        recipe_v2(leased, tmp_path, "pmc-175", approve=False)
        tools.register(leased, "equipment", "OVEN-02", "cure_oven")
        qualification.qualify(leased, "eng1", "OVEN-02", "PMC")
        tools.heartbeat(leased, "test-daemon", ["OVEN-01", "OVEN-02"], ttl_s=600)
        lot_at_pmc(leased, "L001")
        lot_at_pmc(leased, "L002")
        before = lots.track_in(leased, "op1", "L001", "OVEN-01")
        recipes.approve(leased, "eng1", "pmc-175", 2)
        after = lots.track_in(leased, "op1", "L002", "OVEN-02")
        with Session(leased) as s:
            versions = [s.get(Run, t.run_id).recipe_version for t in (before, after)]  # type: ignore[union-attr]
            v2 = s.exec(select(Recipe).where(Recipe.name == "pmc-175", Recipe.version == 2)).one()
        assert versions == [1, 2]
        assert v2.approved and v2.approved_by == "eng1" and v2.approved_at is not None

    def test_recipe_without_approved_version_refused(self, engine: Engine) -> None:
        """A route step whose recipe was imported but never approved cannot be run."""
        users.bootstrap(engine, "admin")
        users.add(engine, "admin", "op1", "operator")
        users.add(engine, "admin", "eng1", "engineer")
        recipes.import_file(engine, "eng1", REPO / "recipes" / "library" / "pmc-175.toml")
        routes.import_file(engine, "eng1", REPO / "deploy" / "routes" / "fowlp-cure.toml")
        tools.register(engine, "equipment", "OVEN-01", "cure_oven")
        qualification.qualify(engine, "eng1", "OVEN-01", "PMC")
        tools.heartbeat(engine, "test-daemon", ["OVEN-01"], ttl_s=600)
        lot_at_pmc(engine)
        with pytest.raises(InvalidState, match="recipe pmc-175 has no approved version"):
            lots.track_in(engine, "op1", "L001", "OVEN-01")
        row = reads.lot(engine, "L001")
        assert row is not None and (row.status, row.tool_id) == ("waiting", None)

    def test_track_out_refused_unless_running_at_a_manual_step(self, leased: Engine) -> None:
        """A waiting lot is not tracked out; nor is one running at a tool's step (the engine
        ends that); neither refusal moves the lot."""
        lots.create(leased, "op1", "L001", "fowlp-cure", 5)
        with pytest.raises(InvalidState, match="L001 is waiting; only a running lot can be"):
            lots.track_out(leased, "op1", "L001")
        lot_at_pmc(leased, "L002")
        lots.track_in(leased, "op1", "L002", "OVEN-01")
        with pytest.raises(InvalidState, match="step PMC is run by the tool; the engine tracks"):
            lots.track_out(leased, "op1", "L002")
        rows = {r.id: (r.step, r.status) for r in reads.lots(leased)}
        assert rows == {"L001": ("MOLD", "waiting"), "L002": ("PMC", "running")}

    def test_second_lot_refused_on_busy_tool(self, leased: Engine) -> None:
        """A tool with a run in progress refuses another track-in; the second lot stays waiting."""
        lot_at_pmc(leased, "L001")
        lot_at_pmc(leased, "L002")
        lots.track_in(leased, "op1", "L001", "OVEN-01")
        with pytest.raises(InvalidState, match="OVEN-01"):
            lots.track_in(leased, "op1", "L002", "OVEN-01")
        row = reads.lot(leased, "L002")
        assert row is not None
        assert row.status == "waiting"

    def test_tool_without_live_daemon_refused(self, leased: Engine) -> None:
        """Track-in needs a tool leased by a live daemon."""
        tools.release_leases(leased, "test-daemon")
        lot_at_pmc(leased)
        with pytest.raises(InvalidState, match="no live daemon"):
            lots.track_in(leased, "op1", "L001", "OVEN-01")

    def test_held_lot_refused(self, leased: Engine) -> None:
        """A lot on hold cannot be tracked in until released."""
        lot_at_pmc(leased)
        lots.hold(leased, "op1", "L001", "wafer chipped")
        with pytest.raises(InvalidState, match="on hold"):
            lots.track_in(leased, "op1", "L001", "OVEN-01")
        lots.release(leased, "op1", "L001", "inspected, ok")
        assert lots.track_in(leased, "op1", "L001", "OVEN-01").run_id is not None

    def test_unknown_tool_and_lot(self, leased: Engine) -> None:
        """Unknown names are NotFound errors that name the object."""
        lot_at_pmc(leased)
        with pytest.raises(NotFound, match="NOPE"):
            lots.track_in(leased, "op1", "L001", "NOPE")
        with pytest.raises(NotFound, match="L999"):
            lots.track_in(leased, "op1", "L999", "OVEN-01")


class TestInputAndRoles:
    def test_bad_lot_input_changes_nothing(self, leased: Engine) -> None:
        """Bad ids, wafer counts and empty reasons are refused and write nothing."""
        with Session(leased) as s:
            before = len(s.exec(select(Audit)).all())
        with pytest.raises(InvalidInput, match="wafers = 30"):
            lots.create(leased, "op1", "L001", "fowlp-cure", 30)
        with pytest.raises(InvalidInput, match="lot id"):
            lots.create(leased, "op1", "bad id!", "fowlp-cure", 25)
        lot_at_pmc(leased)
        with Session(leased) as s:
            mid = len(s.exec(select(Audit)).all())
        with pytest.raises(InvalidInput, match="reason"):
            lots.hold(leased, "op1", "L001", "   ")
        with Session(leased) as s:
            assert len(s.exec(select(Audit)).all()) == mid
        assert mid == before + 3

    def test_operator_cannot_approve_and_refusal_is_audited(self, leased: Engine) -> None:
        """An operator may not approve recipes; the refusal is in the audit trail."""
        from mes.services import recipes

        with pytest.raises(PermissionDenied, match=r"recipe\.approve"):
            recipes.approve(leased, "op1", "pmc-175", 1)
        with Session(leased) as s:
            denied = s.exec(select(Audit).where(Audit.action == "denied")).all()
        assert [d.actor for d in denied] == ["op1"]


class TestAudit:
    def test_chain_detects_edit(self, leased: Engine) -> None:
        """Editing a row directly in the database breaks the hash chain."""
        lot_at_pmc(leased)
        with Session(leased) as s:
            assert audit.verify(s).ok
            s.execute(text("UPDATE audit SET actor = 'mallory' WHERE seq = 3"))
            s.commit()
            result = audit.verify(s)
        assert not result.ok
        assert "seq 3" in result.problems[0]
