"""Lot transactions against a real database: rules, roles, audit."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select, text

from mes.domain.errors import InvalidInput, InvalidState, NotFound, PermissionDenied
from mes.services import audit, lots, reads, tools
from mes.store.tables import Audit, Run
from tests.helpers import lot_at_pmc


class TestTrackIn:
    def test_manual_step_moves_lot_to_next_step(self, line: Engine) -> None:
        """Track-in/out of a manual step advances the lot and audits both moves."""
        lot_at_pmc(line)
        row = reads.lot(line, "L001")
        assert row is not None
        assert (row.step, row.status) == ("PMC", "waiting")
        with Session(line) as s:
            actions = [a.action for a in s.exec(select(Audit))]
        assert actions.count("lot.track_in") == 1
        assert actions.count("lot.track_out") == 1

    def test_oven_step_writes_run_request(self, line: Engine) -> None:
        """Track-in at the oven step requests a run of the approved recipe on that tool."""
        lot_at_pmc(line)
        res = lots.track_in(line, "op1", "L001", "OVEN-01")
        assert res.run_id is not None
        with Session(line) as s:
            run = s.get(Run, res.run_id)
        assert run is not None
        assert (run.recipe_name, run.status, run.tool_id) == ("pmc-175", "requested", "OVEN-01")
        assert reads.tools(line)[0].run_id == res.run_id

    def test_second_lot_refused_on_busy_tool(self, line: Engine) -> None:
        """A tool with a run in progress refuses another track-in; the second lot stays waiting."""
        lot_at_pmc(line, "L001")
        lot_at_pmc(line, "L002")
        lots.track_in(line, "op1", "L001", "OVEN-01")
        with pytest.raises(InvalidState, match="OVEN-01"):
            lots.track_in(line, "op1", "L002", "OVEN-01")
        row = reads.lot(line, "L002")
        assert row is not None
        assert row.status == "waiting"

    def test_tool_without_live_daemon_refused(self, line: Engine) -> None:
        """Track-in needs a tool leased by a live daemon."""
        tools.release_leases(line, "test-daemon")
        lot_at_pmc(line)
        with pytest.raises(InvalidState, match="no live daemon"):
            lots.track_in(line, "op1", "L001", "OVEN-01")

    def test_held_lot_refused(self, line: Engine) -> None:
        """A lot on hold cannot be tracked in until released."""
        lot_at_pmc(line)
        lots.hold(line, "op1", "L001", "wafer chipped")
        with pytest.raises(InvalidState, match="on hold"):
            lots.track_in(line, "op1", "L001", "OVEN-01")
        lots.release(line, "op1", "L001", "inspected, ok")
        assert lots.track_in(line, "op1", "L001", "OVEN-01").run_id is not None

    def test_unknown_tool_and_lot(self, line: Engine) -> None:
        """Unknown names are NotFound errors that name the object."""
        lot_at_pmc(line)
        with pytest.raises(NotFound, match="NOPE"):
            lots.track_in(line, "op1", "L001", "NOPE")
        with pytest.raises(NotFound, match="L999"):
            lots.track_in(line, "op1", "L999", "OVEN-01")


class TestInputAndRoles:
    def test_bad_lot_input_changes_nothing(self, line: Engine) -> None:
        """Bad ids, wafer counts and empty reasons are refused and write nothing."""
        with Session(line) as s:
            before = len(s.exec(select(Audit)).all())
        with pytest.raises(InvalidInput, match="wafers = 30"):
            lots.create(line, "op1", "L001", "fowlp-cure", 30)
        with pytest.raises(InvalidInput, match="lot id"):
            lots.create(line, "op1", "bad id!", "fowlp-cure", 25)
        lot_at_pmc(line)
        with Session(line) as s:
            mid = len(s.exec(select(Audit)).all())
        with pytest.raises(InvalidInput, match="reason"):
            lots.hold(line, "op1", "L001", "   ")
        with Session(line) as s:
            assert len(s.exec(select(Audit)).all()) == mid
        assert mid == before + 3

    def test_operator_cannot_approve_and_refusal_is_audited(self, line: Engine) -> None:
        """An operator may not approve recipes; the refusal is in the audit trail."""
        from mes.services import recipes

        with pytest.raises(PermissionDenied, match="recipe.approve"):
            recipes.approve(line, "op1", "pmc-175", 1)
        with Session(line) as s:
            denied = s.exec(select(Audit).where(Audit.action == "denied")).all()
        assert [d.actor for d in denied] == ["op1"]


class TestAudit:
    def test_chain_detects_edit(self, line: Engine) -> None:
        """Editing a row directly in the database breaks the hash chain."""
        lot_at_pmc(line)
        with Session(line) as s:
            assert audit.verify(s).ok
            s.execute(text("UPDATE audit SET actor = 'mallory' WHERE seq = 3"))
            s.commit()
            result = audit.verify(s)
        assert not result.ok
        assert "seq 3" in result.problems[0]
