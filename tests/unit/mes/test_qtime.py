"""Queue-time limits: a lot past its deadline is held, and cannot be tracked in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mes.domain.errors import InvalidState
from mes.services import lots, reads, routes
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


def timed_route(
    engine: Engine, tmp_path: Path, name: str, steps: tuple[str, ...], to: str, hours: float
) -> None:
    """Import a manual route whose first step starts a queue-time clock for step `to`."""
    first, *rest = steps
    text = f'name = "{name}"\n[[steps]]\nname = "{first}"\nqtime_to = "{to}"\nqtime_h = {hours}\n'
    text += "".join(f'[[steps]]\nname = "{step}"\n' for step in rest)
    route = tmp_path / f"{name}.toml"
    route.write_text(text)
    routes.import_file(engine, "eng1", route)


class TestRouteQTime:
    def test_seed_sputter_starts_the_plating_clock(self, leased: Engine, tmp_path: Path) -> None:
        """Tracking out of a step with qtime_to starts that step's clock; late → held."""
        timed_route(leased, tmp_path, "seed-plate", ("SEED", "LITHO", "PLATE"), "PLATE", 8.0)
        lots.create(leased, "op1", "S1", "seed-plate", 3)
        lots.track_in(leased, "op1", "S1")
        lots.track_out(leased, "op1", "S1")
        with transaction(leased) as s:
            lot = s.get(Lot, "S1")
            assert lot is not None
            assert lot.qtime_step == "PLATE"
            assert lot.qtime_deadline is not None
            left = lot.qtime_deadline - utcnow()
        assert timedelta(hours=7.9) < left <= timedelta(hours=8)
        set_deadline(leased, "S1", -0.5)
        with transaction(leased) as s:  # the clock is for PLATE, the lot waits at LITHO
            lot = s.get(Lot, "S1")
            assert lot is not None
            lot.qtime_step = "PLATE"
            s.add(lot)
        assert lots.enforce_qtime(leased, "equipment") == ["S1"]

    def test_a_manual_timed_step_stops_its_clock(self, leased: Engine, tmp_path: Path) -> None:
        """The clock runs to a manual step: tracking in there stops it, and the lot is not
        held later at the step after it."""
        timed_route(leased, tmp_path, "clean-inspect", ("CLEAN", "INSPECT", "PACK"), "INSPECT", 2.0)
        lots.create(leased, "op1", "C1", "clean-inspect", 3)
        lots.track_in(leased, "op1", "C1")
        lots.track_out(leased, "op1", "C1")
        lots.track_in(leased, "op1", "C1")  # INSPECT starts in time
        with transaction(leased) as s:
            lot = s.get(Lot, "C1")
            assert lot is not None and (lot.qtime_step, lot.qtime_deadline) == (None, None)
        lots.track_out(leased, "op1", "C1")
        assert lots.enforce_qtime(leased, "equipment") == []
        row = reads.lot(leased, "C1")
        assert row is not None and (row.step, row.on_hold) == ("PACK", False)
