"""Holds with reason codes, on wafers, and future holds; who may release what (both backends)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mes.domain.errors import InvalidInput, InvalidState, PermissionDenied
from mes.services import holds, lots, reads
from mes.store.tables import Audit, Hold, WaferEvent
from tests.helpers import lot_at_pmc


def audit_actions(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as s:
        return [(a.actor, a.action, a.entity_id) for a in s.exec(select(Audit))]


class TestReasonCodes:
    def test_operator_releases_own_code_but_not_engineering(self, line: Engine) -> None:
        """The code names the role: operator holds by op1, engineering holds by eng1 only."""
        lot_at_pmc(line)
        lots.hold(line, "op1", "L001", "check carrier label")  # code operator
        holds.hold(line, "op1", "L001", "void in mold: needs disposition", code="engineering")
        with pytest.raises(PermissionDenied, match=r"may not lot\.release_engineering"):
            lots.release(line, "op1", "L001", "looks fine to me")
        # the refusal changed nothing and was audited
        assert len(holds.active_holds_of(line, "L001")) == 2
        assert ("op1", "denied", "lot.release_engineering") in audit_actions(line)
        op_hold = holds.active_holds_of(line, "L001")[0]
        holds.release(line, "op1", "L001", "label ok", hold_ids=[op_hold.id or 0])
        assert [h.code for h in holds.active_holds_of(line, "L001")] == ["engineering"]
        holds.release(line, "eng1", "L001", "X-ray: void below limit")
        assert holds.active_holds_of(line, "L001") == []

    def test_unknown_code_names_the_valid_ones(self, line: Engine) -> None:
        lot_at_pmc(line)
        with pytest.raises(InvalidInput, match="hold code 'later' is not one of: operator"):
            holds.hold(line, "op1", "L001", "x", code="later")
        assert holds.active_holds_of(line, "L001") == []


class TestWaferHolds:
    def test_hold_on_chosen_wafers_blocks_the_lot_and_names_them(self, line: Engine) -> None:
        lot_at_pmc(line)
        h = holds.hold(line, "op1", "L001", "chipped edge", wafers=["3", "L001-W07"])
        assert h.wafer_ids_json == '["L001-W03", "L001-W07"]'
        with pytest.raises(InvalidState, match="on hold"):
            lots.track_in(line, "op1", "L001", "OVEN-01")
        with Session(line) as s:
            held = s.exec(select(WaferEvent.wafer_id).where(WaferEvent.event == "hold")).all()
        assert sorted(held) == ["L001-W03", "L001-W07"]

    def test_held_lot_is_not_tracked_out(self, line: Engine) -> None:
        """A hold placed during a manual step keeps the lot there until it is released."""
        lots.create(line, "op1", "L001", "fowlp-cure", 5)
        lots.track_in(line, "op1", "L001")
        holds.hold(line, "op1", "L001", "edge chip", wafers=["2"])
        with pytest.raises(InvalidState, match="L001 is on hold; release it before tracking"):
            lots.track_out(line, "op1", "L001")
        row = reads.lot(line, "L001")
        assert row is not None and (row.step, row.status) == ("MOLD", "running")
        lots.release(line, "op1", "L001", "chip within spec")
        lots.track_out(line, "op1", "L001")
        row = reads.lot(line, "L001")
        assert row is not None and (row.step, row.status) == ("PMC", "waiting")

    def test_unknown_wafer_refused(self, line: Engine) -> None:
        lot_at_pmc(line)
        with pytest.raises(InvalidInput, match="wafer '26' is not an active wafer of lot L001"):
            holds.hold(line, "op1", "L001", "x", wafers=["26"])


class TestFutureHolds:
    def test_future_hold_placed_on_arrival(self, line: Engine) -> None:
        """A future hold on GRIND waits through PMC and holds the lot when it reaches GRIND."""
        lots.create(line, "op1", "L001", "fowlp-cure", 5)
        fh = holds.future_hold(line, "eng1", "L001", "GRIND", "measure warpage before grind")
        lots.track_in(line, "op1", "L001")
        lots.track_out(line, "op1", "L001")  # MOLD → PMC: no hold yet
        assert holds.active_holds_of(line, "L001") == []
        with Session(line) as s:
            lot = lots.get_lot(s, "L001")
            lot.step_index = 2  # as if PMC ran: GRIND is next (manual steps from here)
            lot.status = "waiting"
            s.add(lot)
            holds.on_arrival(s, lot, "GRIND")
            s.commit()
            hold = s.exec(select(Hold)).one()
        assert hold.code == "engineering" and "measure warpage" in hold.reason
        assert hold.placed_by == "eng1"
        row = reads.lot(line, "L001")
        assert row is not None and row.on_hold
        with Session(line) as s:
            assert s.get(type(fh), fh.id).hold_id == hold.id  # type: ignore[union-attr]

    def test_future_hold_through_track_out(self, line: Engine) -> None:
        """Moving by track-out onto the step places the hold in the same transaction."""
        lots.create(line, "op1", "L001", "fowlp-cure", 5)
        holds.future_hold(line, "op1", "L001", "PMC", "check mold flash", code="operator")
        lots.track_in(line, "op1", "L001")
        lots.track_out(line, "op1", "L001")
        assert [h.code for h in holds.active_holds_of(line, "L001")] == ["operator"]

    def test_only_a_later_step(self, line: Engine) -> None:
        lots.create(line, "op1", "L001", "fowlp-cure", 5)
        with pytest.raises(InvalidInput, match="not a later step of lot L001 \\(now at MOLD\\)"):
            holds.future_hold(line, "eng1", "L001", "MOLD", "x")

    def test_cancel_needs_the_release_role(self, line: Engine) -> None:
        lots.create(line, "op1", "L001", "fowlp-cure", 5)
        fh = holds.future_hold(line, "eng1", "L001", "GRIND", "warpage")
        with pytest.raises(PermissionDenied):
            holds.cancel_future_hold(line, "op1", fh.id or 0, "not needed")
        holds.cancel_future_hold(line, "eng1", fh.id or 0, "not needed")
        with Session(line) as s:
            assert holds.pending_future_holds(s, "L001") == []


@pytest.mark.parametrize(
    ("text", "code", "reason"),
    [
        ("quality: voids at X-ray", "quality", "voids at X-ray"),
        ("Engineering:check warpage", "engineering", "check warpage"),
        ("wafer 3: chipped edge", "operator", "wafer 3: chipped edge"),
        ("  wrong carrier ", "operator", "wrong carrier"),
    ],
)
def test_split_code(text: str, code: str, reason: str) -> None:
    """A one-line form names the code as a prefix; anything else is the operator's hold."""
    from mes.domain.holds import split_code

    got_code, got_reason = split_code(text)
    assert (got_code.value, got_reason) == (code, reason)
