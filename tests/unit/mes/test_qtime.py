"""Queue-time limits: a lot past its deadline is held, and cannot be tracked in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from mes.domain.errors import InvalidState
from mes.services import lots, reads
from mes.services.tx import transaction
from mes.store.tables import Lot, utcnow
from tests.helpers import lot_at_pmc


def set_deadline(engine: Engine, lot_id: str, hours_from_now: float) -> None:
    with transaction(engine) as s:
        lot = s.get(Lot, lot_id)
        assert lot is not None
        lot.qtime_deadline = utcnow() + timedelta(hours=hours_from_now)
        lot.qtime_step = "PMC"
        s.add(lot)


class TestQTime:
    def test_lot_within_limit_tracks_in(self, leased: Engine) -> None:
        """Before its deadline a lot tracks in normally and no hold is placed."""
        lot_at_pmc(leased)
        set_deadline(leased, "L001", 2.0)
        assert lots.enforce_qtime(leased, "equipment") == []
        assert lots.track_in(leased, "op1", "L001", "OVEN-01").run_id is not None

    def test_lot_past_limit_is_held_once(self, leased: Engine) -> None:
        """Past its deadline a waiting lot is held once, with the step and lateness named."""
        lot_at_pmc(leased)
        set_deadline(leased, "L001", -1.5)
        assert lots.enforce_qtime(leased, "equipment") == ["L001"]
        assert lots.enforce_qtime(leased, "equipment") == []
        row = reads.lot(leased, "L001")
        assert row is not None
        assert row.on_hold
        assert "Q-time exceeded: PMC" in (row.hold_reason or "")
        assert "1.5 h late" in (row.hold_reason or "")

    def test_track_in_past_limit_refused_and_held(self, leased: Engine) -> None:
        """Tracking in a late lot is refused and puts it on hold; no run is requested."""
        lot_at_pmc(leased)
        set_deadline(leased, "L001", -0.1)
        with pytest.raises(InvalidState, match="queue-time"):
            lots.track_in(leased, "op1", "L001", "OVEN-01")
        assert reads.runs(leased) == []
        row = reads.lot(leased, "L001")
        assert row is not None
        assert row.on_hold
