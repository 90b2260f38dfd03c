"""Two daemon processes share one database and one oven; one dies or stalls mid-run.

Each daemon is a real `python -m mes.cli daemon` process with its own id and the same
tool list; the oven simulator serves Modbus TCP on 127.0.0.1 at a high clock speed.
On PostgreSQL (the several-hosts setup) and on a shared SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.services import lots, reads, runs
from mes.store.tables import Alarm, Audit, Tool
from simulators.oven.server import OvenSimulator
from tests.conftest import REPO
from tests.helpers import lot_at_pmc
from tests.system.conftest import wait_for

pytestmark = pytest.mark.system

# A 6 h post-mold cure in ~27 s. The take-over gap (lease TTL + one heartbeat + re-attach,
# ~2.5 s wall, ~2000 s of program) then falls in the first ramp (0..3600 s), where an
# unseen stretch is allowed, so the lot still tracks out after the take-over.
SPEED = 800.0
LEASE_TTL_S = 2.0
TOOL = "OVEN-01"


def config_text(port: int, daemon_id: str) -> str:
    return f"""
[line]
name = "takeover-test"

[daemon]
id = "{daemon_id}"
poll_interval_s = 0.02
idle_poll_interval_s = 0.2
claim_interval_s = 0.1
lease_ttl_s = {LEASE_TTL_S}
sample_batch = 200
flush_interval_s = 0.2

[[tools]]
id = "{TOOL}"
type = "cure_oven"
protocol = "modbus"
host = "127.0.0.1"
port = {port}
timeout_s = 0.5
"""


@dataclass
class DaemonProcess:
    """One `pkgline daemon` subprocess; its JSON log goes to a file the test reads."""

    daemon_id: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict) and (name is None or ev.get("event") == name):
                out.append(ev)
        return out

    def logged(self, name: str, **match: object) -> bool:
        return any(all(ev.get(k) == v for k, v in match.items()) for ev in self.events(name))

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def exit_code(self, within_s: float) -> int | None:
        """The exit code, or None if the process still runs after `within_s` seconds."""
        try:
            return await asyncio.to_thread(self.proc.wait, within_s)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]


@dataclass
class Daemons:
    db_url: str
    workdir: Path
    started: list[DaemonProcess] = field(default_factory=list)

    def start(self, daemon_id: str, port: int) -> DaemonProcess:
        cfg = self.workdir / f"{daemon_id}.toml"
        cfg.write_text(config_text(port, daemon_id), encoding="utf-8")
        log_path = self.workdir / f"{daemon_id}.log"
        env = os.environ | {"PYTHONUNBUFFERED": "1"}
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mes.cli",
                    "--db",
                    self.db_url,
                    "daemon",
                    "--config",
                    str(cfg),
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        d = DaemonProcess(daemon_id, proc, log_path)
        self.started.append(d)
        return d

    def cleanup(self) -> None:
        for d in self.started:
            if d.proc.poll() is None:
                d.proc.send_signal(signal.SIGCONT)
                d.proc.kill()
            d.proc.wait(timeout=10)


@pytest.fixture
def daemons(line: Engine, tmp_path: Path) -> Iterator[Daemons]:
    ds = Daemons(line.url.render_as_string(hide_password=False), tmp_path)
    try:
        yield ds
    finally:
        ds.cleanup()


@pytest.fixture
async def oven() -> AsyncIterator[OvenSimulator]:
    sim = OvenSimulator("127.0.0.1", 0, speed=SPEED, seed=5)
    await sim.start()
    yield sim
    await sim.stop()


def lease(engine: Engine) -> tuple[str | None, bool]:
    with Session(engine) as s:
        tool = s.exec(select(Tool).where(Tool.id == TOOL)).one()
        return tool.lease_owner, tool.online


@contextlib.asynccontextmanager
async def lease_history(engine: Engine) -> AsyncIterator[list[str | None]]:
    """Every lease owner the tool shows, in order, polled every 20 ms while the block runs."""
    owners: list[str | None] = []

    async def watch() -> None:
        while True:
            owner, _ = await asyncio.to_thread(lease, engine)
            if not owners or owners[-1] != owner:
                owners.append(owner)
            await asyncio.sleep(0.02)

    task = asyncio.create_task(watch())
    try:
        yield owners
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def takeovers(engine: Engine) -> list[Audit]:
    with Session(engine) as s:
        q = select(Audit).where(Audit.action == "tool.lease_takeover").order_by(col(Audit.seq))
        return list(s.exec(q))


def sample_ids(engine: Engine, run_id: int) -> set[int]:
    return {s.id for s in runs.samples_of(engine, run_id) if s.id is not None}


def run_alarms(engine: Engine, run_id: int) -> list[Alarm]:
    with Session(engine) as s:
        return list(s.exec(select(Alarm).where(Alarm.run_id == run_id)))


def aware(value: str) -> datetime:
    ts = datetime.fromisoformat(value)
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def lot_done(engine: Engine) -> bool:
    row = reads.lot(engine, "L001")
    return row is not None and (row.step != "PMC" or row.on_hold)


async def a_runs_with_b_standing_by(
    line: Engine, daemons: Daemons, port: int
) -> tuple[DaemonProcess, DaemonProcess, int]:
    """A holds the oven; B is up and heartbeating; a lot is curing under A, samples written."""
    a = daemons.start("daemon-A", port)
    await wait_for(lambda: lease(line) == ("daemon-A", True), 30, "daemon A to lease the oven")
    b = daemons.start("daemon-B", port)
    await wait_for(lambda: b.logged("daemon_started"), 30, "daemon B to start")
    await asyncio.sleep(3 * 0.1)  # a few of B's heartbeats, refused while A's lease is live
    assert lease(line)[0] == "daemon-A"
    lot_at_pmc(line)
    run_id = lots.track_in(line, "op1", "L001", TOOL).run_id or 0
    await wait_for(lambda: len(sample_ids(line, run_id)) > 40, 30, "samples written under A")
    return a, b, run_id


def assert_taken_over_once(line: Engine, owners: list[str | None], after: datetime) -> None:
    """One audited take-over, from A to B, after A's lease had expired; never back to A."""
    assert owners == [None, "daemon-A", "daemon-B"], owners
    (entry,) = takeovers(line)
    before = json.loads(entry.before_json or "{}")
    after_ = json.loads(entry.after_json or "{}")
    assert (before["lease_owner"], after_["lease_owner"]) == ("daemon-A", "daemon-B")
    expired_at = aware(before["lease_expires"])
    taken_at = entry.ts if entry.ts.tzinfo else entry.ts.replace(tzinfo=UTC)
    assert taken_at >= expired_at, (taken_at, expired_at)  # only once A's lease had run out
    assert expired_at >= after  # A's last renewal was still live when A stopped


def assert_run_completed_once(line: Engine, run_id: int) -> None:
    """The same run, re-attached (no second run), tracked out, with exactly one gap."""
    oven_runs = [r for r in reads.runs(line, "L001") if r.tool_id == TOOL]
    assert [(r.id, r.status, r.outcome) for r in oven_runs] == [
        (run_id, "completed", "tracked_out")
    ]
    row = reads.lot(line, "L001")
    assert row is not None
    assert (row.step, row.on_hold) == ("GRIND", False), row.hold_reason
    alarms = run_alarms(line, run_id)
    assert [a.kind for a in alarms] == ["gap"], [(a.kind, a.message) for a in alarms]
    assert "supervisor was not running" in alarms[0].message
    assert (alarms[0].t_program or 0) < 3600  # the gap fell in the first ramp
    tool = reads.tools(line)[0]
    assert (tool.run_id, tool.e10_state, tool.lease_owner) == (None, "standby", "daemon-B")


class TestTakeover:
    async def test_killed_daemon_hands_tool_and_run_to_the_other(
        self, line: Engine, oven: OvenSimulator, daemons: Daemons
    ) -> None:
        """SIGKILL A mid-run: B takes the lease once it expires, re-attaches, keeps the samples.

        No second run is created, the lot tracks out, the gap is recorded once, and the
        tool's lease goes from A to B exactly once (audited), never with two owners.
        """
        async with lease_history(line) as owners:
            a, b, run_id = await a_runs_with_b_standing_by(line, daemons, oven.port)
            a.signal(signal.SIGKILL)
            assert await a.exit_code(10) is not None, a.log_tail()
            killed_at = datetime.now(UTC)
            written = await asyncio.to_thread(sample_ids, line, run_id)
            await wait_for(lambda: lot_done(line), 60, "B to finish the run")
        assert b.proc.poll() is None, b.log_tail()
        assert b.logged("run_reattached", run_id=run_id), b.log_tail()
        assert b.logged("run_finished", run_id=run_id, passed=True), b.log_tail()
        assert not a.logged("run_finished")
        assert_taken_over_once(line, owners, after=killed_at)
        kept = sample_ids(line, run_id)
        assert written <= kept  # every sample written before the kill is still there
        assert len(kept) > len(written)  # and B recorded the rest of the run
        assert_run_completed_once(line, run_id)
        b.signal(signal.SIGTERM)
        assert await b.exit_code(15) == 0, b.log_tail()
        assert lease(line) == (None, False)  # B's clean exit released the oven

    async def test_stalled_daemon_that_lost_its_lease_stops_driving(
        self, line: Engine, oven: OvenSimulator, daemons: Daemons
    ) -> None:
        """SIGSTOP A past its lease: B takes over; A, resumed, lets go without touching the run.

        A logs the lost lease and suspends its supervision; it raises no alarm, writes no
        verdict and does not abort the run, which B completes; A keeps running and exits
        cleanly without releasing B's lease.
        """
        if line.dialect.name == "sqlite":
            # A process frozen inside a write transaction keeps SQLite's one write lock, and
            # every other writer waits on it: several hosts share a line through PostgreSQL.
            pytest.skip("a frozen writer stalls a shared SQLite file; PostgreSQL only")
        async with lease_history(line) as owners:
            a, b, run_id = await a_runs_with_b_standing_by(line, daemons, oven.port)
            a.signal(signal.SIGSTOP)
            stopped_at = datetime.now(UTC)
            await wait_for(lambda: b.logged("run_reattached", run_id=run_id), 30, "B to attach")
            a.signal(signal.SIGCONT)
            await wait_for(lambda: a.logged("lease_lost", tool_id=TOOL), 30, "A to let go")
            await wait_for(lambda: lot_done(line), 60, "B to finish the run")
        assert a.logged("supervision_suspended", run_id=run_id), a.log_tail()
        assert not a.logged("run_finished") and not a.logged("excursion"), a.log_tail()
        assert b.logged("run_finished", run_id=run_id, passed=True), b.log_tail()
        assert_taken_over_once(line, owners, after=stopped_at)
        assert_run_completed_once(line, run_id)
        a.signal(signal.SIGTERM)
        assert await a.exit_code(15) == 0, a.log_tail()
        assert lease(line)[0] == "daemon-B"  # A's clean exit released only its own leases
        b.signal(signal.SIGTERM)
        assert await b.exit_code(15) == 0, b.log_tail()
