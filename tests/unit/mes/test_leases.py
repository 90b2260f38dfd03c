"""Tool leases: one owner at a time, taken over only once expired, every take-over audited."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.daemon.config import load_config
from mes.domain.errors import InvalidInput, LeaseFenced
from mes.services import audit, lots, reads, runs, tools
from mes.services.runs import Verdict
from mes.store.tables import Audit, Run
from tests.helpers import lot_at_pmc

TOOL = "OVEN-01"
EXPIRED = -1.0  # a TTL that leaves the lease already expired


def owner(engine: Engine) -> str | None:
    return reads.tools(engine)[0].lease_owner


def takeovers(engine: Engine) -> list[Audit]:
    return audited(engine, "tool.lease_takeover")


def audited(engine: Engine, action: str) -> list[Audit]:
    with Session(engine) as s:
        q = select(Audit).where(Audit.action == action).order_by(col(Audit.seq))
        return list(s.exec(q))


def race_heartbeats(engine: Engine, owners: list[str]) -> dict[str, list[str]]:
    """Each owner heartbeats in its own thread, released together; what each now holds."""
    barrier = threading.Barrier(len(owners))
    held: dict[str, list[str]] = {}

    def beat(name: str) -> None:
        barrier.wait()
        held[name] = tools.heartbeat(engine, name, [TOOL], 60)

    threads = [threading.Thread(target=beat, args=(o,)) for o in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return held


class TestHeartbeat:
    def test_live_lease_is_not_taken(self, line: Engine) -> None:
        """Another daemon's heartbeat is refused while the owner's lease is live."""
        assert tools.heartbeat(line, "daemon-A", [TOOL], 60) == [TOOL]
        assert tools.heartbeat(line, "daemon-B", [TOOL], 60) == []
        assert owner(line) == "daemon-A"
        assert takeovers(line) == []

    def test_expired_lease_is_taken_over_and_audited(self, line: Engine) -> None:
        """An expired lease goes to the next daemon, with before and after owner audited."""
        tools.heartbeat(line, "daemon-A", [TOOL], EXPIRED)
        assert tools.heartbeat(line, "daemon-B", [TOOL], 60, actor="equipment") == [TOOL]
        assert owner(line) == "daemon-B"
        (entry,) = takeovers(line)
        assert (entry.actor, entry.entity, entry.entity_id) == ("equipment", "tool", TOOL)
        assert json.loads(entry.before_json or "")["lease_owner"] == "daemon-A"
        assert json.loads(entry.after_json or "")["lease_owner"] == "daemon-B"
        assert "daemon-A" in (entry.reason or "")
        # B renewing is no take-over; A, back too late, holds nothing.
        assert tools.heartbeat(line, "daemon-B", [TOOL], 60) == [TOOL]
        assert tools.heartbeat(line, "daemon-A", [TOOL], 60) == []
        assert len(takeovers(line)) == 1
        with Session(line) as s:
            assert audit.verify(s).ok

    def test_released_lease_is_taken_without_a_takeover(self, line: Engine) -> None:
        """A lease given back on a clean stop is free: taking it is no take-over. Each take
        of a free lease and each release is audited; renewals are not."""
        tools.heartbeat(line, "daemon-A", [TOOL], 60)
        tools.heartbeat(line, "daemon-A", [TOOL], 60)
        tools.release_leases(line, "daemon-A")
        assert tools.heartbeat(line, "daemon-B", [TOOL], 60) == [TOOL]
        assert takeovers(line) == []
        taken = [
            json.loads(a.after_json or "")["lease_owner"] for a in audited(line, "tool.lease_take")
        ]
        assert taken == ["daemon-A", "daemon-B"]
        (released,) = audited(line, "tool.lease_release")
        assert (released.entity_id, released.reason) == (TOOL, "released by daemon-A")
        assert owner(line) == "daemon-B"

    def test_two_daemons_race_for_an_expired_lease(self, line: Engine) -> None:
        """Two daemons taking one expired lease at once: exactly one wins, audited once."""
        current = "daemon-A"
        tools.heartbeat(line, current, [TOOL], 60)
        for i in range(5):
            tools.heartbeat(line, current, [TOOL], EXPIRED)  # the owner's lease runs out
            racers = [f"daemon-{i}-x", f"daemon-{i}-y"]
            held = race_heartbeats(line, racers)
            winners = [r for r in racers if held[r] == [TOOL]]
            assert len(winners) == 1, held
            assert owner(line) == winners[0]
            last = takeovers(line)[-1]
            assert json.loads(last.before_json or "")["lease_owner"] == current
            assert json.loads(last.after_json or "")["lease_owner"] == winners[0]
            current = winners[0]
        assert len(takeovers(line)) == 5


class TestFencing:
    def test_a_daemon_that_lost_the_lease_cannot_start_or_close_its_run(self, line: Engine) -> None:
        """Daemon A, paused past its lease, comes back after B took the tool: the database
        refuses A's start and verdict for the run (B's re-attach owns it); B may write."""
        tools.heartbeat(line, "daemon-A", [TOOL], 60)
        lot_at_pmc(line)
        run_id = lots.track_in(line, "op1", "L001", TOOL).run_id
        assert run_id is not None
        runs.claim(line, "equipment", [TOOL])
        tools.heartbeat(line, "daemon-A", [TOOL], EXPIRED)
        assert tools.heartbeat(line, "daemon-B", [TOOL], 60) == [TOOL]
        late = Verdict(passed=True, reasons=[], summary={})
        with pytest.raises(LeaseFenced, match="OVEN-01 is leased by daemon-B, not daemon-A"):
            runs.mark_started(line, "equipment", run_id, 25.0, "daemon-A")
        with pytest.raises(LeaseFenced, match="leased by daemon-B"):
            runs.finish(line, "equipment", run_id, late, "daemon-A")
        with Session(line) as s:
            run = s.get(Run, run_id)
            assert run is not None and (run.status, run.started_at) == ("running", None)
        row = reads.lot(line, "L001")
        assert row is not None and (row.step, row.status) == ("PMC", "running")
        runs.mark_started(line, "equipment", run_id, 25.0, "daemon-B")
        runs.finish(line, "equipment", run_id, late, "daemon-B")
        row = reads.lot(line, "L001")
        assert row is not None and (row.step, row.status) == ("GRIND", "waiting")


class TestLeaseConfig:
    def test_lease_shorter_than_a_few_heartbeats_is_refused(self, tmp_path: Path) -> None:
        """A lease TTL under 4 heartbeat periods is bad input naming both fields."""
        cfg = tmp_path / "line.toml"
        cfg.write_text(
            '[line]\nname = "x"\n[daemon]\nclaim_interval_s = 1.0\nlease_ttl_s = 3.0\n'
            '[[tools]]\nid = "OVEN-01"\ntype = "cure_oven"\nprotocol = "modbus"\n'
            'host = "127.0.0.1"\nport = 5020\n',
            encoding="utf-8",
        )
        with pytest.raises(InvalidInput, match=r"lease_ttl_s \(3\) must be at least 4 × claim"):
            load_config(cfg)
