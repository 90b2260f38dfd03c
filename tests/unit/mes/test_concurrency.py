"""Conflicting transactions at the same moment: exactly one wins, the other gets a clear error."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

from sqlalchemy.engine import Engine

from mes.domain.errors import DomainError
from mes.services import lots, reads
from tests.helpers import lot_at_pmc


def race(*actions: Callable[[], object]) -> list[object]:
    """Run the actions in threads released together; each result or the error it raised."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(i: int, action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[i] = action()
        except DomainError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


class TestConcurrentTransactions:
    def test_two_operators_track_in_the_same_lot(self, leased: Engine) -> None:
        """Two track-ins of one lot at once: one run is requested, the other is refused."""
        lot_at_pmc(leased)
        results = race(
            lambda: lots.track_in(leased, "op1", "L001", "OVEN-01"),
            lambda: lots.track_in(leased, "op1", "L001", "OVEN-01"),
        )
        errors = [r for r in results if isinstance(r, DomainError)]
        assert len(errors) == 1, results
        assert any(w in str(errors[0]) for w in ("running", "changed by someone", "busy"))
        assert len(reads.runs(leased)) == 1

    def test_two_lots_race_for_one_tool(self, leased: Engine) -> None:
        """Two lots tracked in on the same tool at once: one gets it, the other a clear error."""
        lot_at_pmc(leased, "L001")
        lot_at_pmc(leased, "L002")
        results = race(
            lambda: lots.track_in(leased, "op1", "L001", "OVEN-01"),
            lambda: lots.track_in(leased, "op1", "L002", "OVEN-01"),
        )
        errors = [r for r in results if isinstance(r, DomainError)]
        assert len(errors) == 1, results
        assert "OVEN-01" in str(errors[0])
        statuses = sorted(r.status for r in reads.lots(leased))
        assert statuses == ["running", "waiting"]
        assert len(reads.runs(leased)) == 1

    def test_hold_racing_manual_track_out(self, leased: Engine) -> None:
        """A hold and a track-out at once run one after the other. Hold first: the track-out
        is refused with the reason and the lot stays held at MOLD. Track-out first: the lot
        moves on to PMC and the hold stops it there. Never a held lot moved on."""
        for n in range(5):
            lot_id = f"H{n}"
            lots.create(leased, "op1", lot_id, "fowlp-cure", 5)
            lots.track_in(leased, "op1", lot_id)
            held, moved = race(
                partial(lots.hold, leased, "op1", lot_id, "scratch found"),
                partial(lots.track_out, leased, "op1", lot_id),
            )
            assert not isinstance(held, DomainError), held
            row = reads.lot(leased, lot_id)
            assert row is not None and row.on_hold
            if isinstance(moved, DomainError):
                assert str(moved) == f"lot {lot_id} is on hold; release it before tracking it out"
                assert (row.step, row.status) == ("MOLD", "running")
            else:
                assert (row.step, row.status) == ("PMC", "waiting")

    def test_parallel_audited_writes_keep_one_chain(self, leased: Engine) -> None:
        """Eight lots held at the same moment: eight holds, and the audit chain is unforked."""
        from sqlmodel import Session

        from mes.services import audit

        for n in range(8):
            lots.create(leased, "op1", f"P{n}", "fowlp-cure", 1)
        results = race(*[lambda n=n: lots.hold(leased, "op1", f"P{n}", "check") for n in range(8)])
        assert not [r for r in results if isinstance(r, DomainError)], results
        with Session(leased) as s:
            result = audit.verify(s)
        assert result.ok, result.problems

    def test_split_races_a_track_in(self, leased: Engine) -> None:
        """A split and a track-in of the same lot at once run one after the other: split
        first, both succeed (the rest of the lot is tracked in); track-in first, the split
        is refused. Never a split of a lot that is already running."""
        from mes.services import genealogy

        for n in range(5):
            lot_id = f"S{n}"
            lots.create(leased, "op1", lot_id, "fowlp-cure", 4)
            results = race(
                lambda lot_id=lot_id: genealogy.split(leased, "op1", lot_id, ["1"], "rework"),
                lambda lot_id=lot_id: lots.track_in(leased, "op1", lot_id),
            )
            row = reads.lot(leased, lot_id)
            assert row is not None and row.status == "running"
            if isinstance(results[0], DomainError):
                assert "only a waiting lot can be split" in str(results[0])
                assert row.wafers == 4
            else:
                assert not isinstance(results[1], DomainError), results
                assert row.wafers == 3
