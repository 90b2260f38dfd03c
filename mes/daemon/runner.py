"""The daemon's main loop: lease tools, claim run requests, supervise, re-attach, ingest."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from drivers.core.clock import Clock, MonotonicClock
from drivers.core.errors import DriverError
from drivers.core.oven import Oven
from drivers.core.plater import Plater
from drivers.core.press import MoldingPress
from mes.daemon import idle
from mes.daemon.config import LineConfig
from mes.daemon.ingest import SampleBuffer
from mes.daemon.recorder import LeaseLost, ServiceRecorder
from mes.daemon.tasks import cancel_all
from mes.daemon.tools import build_oven, build_plater, build_press
from mes.engine.oven.supervisor import OvenRunSupervisor, SupervisorSettings
from mes.engine.plating.supervisor import PlatingRunSupervisor
from mes.engine.press.supervisor import PressRunSupervisor
from mes.services import lots, plating, runs, tools
from mes.services.runs import RunTicket
from recipes.loader import parse_oven_recipe
from recipes.materials import parse_material
from recipes.muf import parse_muf_recipe
from recipes.plating import parse_plating_recipe

log = structlog.get_logger(__name__)

QTIME_CHECK_S = 10.0  # how often waiting lots are checked against their queue-time limit
# A lease counts as ours locally until this fraction of its TTL after the heartbeat that
# renewed it began: the slack covers a write in flight and some clock skew between hosts.
LEASE_TRUST = 0.8


class Daemon:
    """Owns the tools of one line config; one event loop supervises them all."""

    def __init__(self, config: LineConfig, engine: Engine, clock: Clock | None = None) -> None:
        self.config = config
        self.engine = engine
        self.clock: Clock = clock or MonotonicClock()
        self.actor = config.daemon.actor
        self.owner = config.daemon.id
        self.ovens: dict[str, Oven] = {
            t.id: build_oven(t, self.clock) for t in config.tools if t.type == "cure_oven"
        }
        self.presses: dict[str, MoldingPress] = {
            t.id: build_press(t, self.clock) for t in config.tools if t.type == "molding_press"
        }
        self.platers: dict[str, Plater] = {
            t.id: build_plater(t, self.clock) for t in config.tools if t.type == "plating_tool"
        }
        self.tool_ids = [t.id for t in config.tools]
        if engine.dialect.name == "postgresql":
            _end_stalled_transactions(engine, config.daemon.lease_ttl_s)
        self.buffer = SampleBuffer(engine, batch=config.daemon.sample_batch)
        self.leased: set[str] = set()
        # Monotonic deadline (real seconds, like the lease in the database, whatever
        # self.clock is) after which this daemon no longer trusts the leases it holds.
        self._lease_until = 0.0
        self._suspended: set[str] = set()  # held tools whose run supervision let go (stale lease)
        self.runs: dict[str, asyncio.Task[None]] = {}  # tool id → its supervising task
        # Supervising tasks of tools whose lease was lost, until they have ended.
        self._detached: set[asyncio.Task[None]] = set()
        self._idle_alarms = idle.AlarmMemory()  # each idle tool's alarms already raised
        self._stop = asyncio.Event()
        self._next_qtime_check = 0.0

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Until stop(): heartbeat leases, claim requests, keep idle tools' values fresh."""
        for t in self.config.tools:
            await asyncio.to_thread(tools.register, self.engine, self.actor, t.id, t.type)
            if t.type == "plating_tool":
                await asyncio.to_thread(
                    plating.set_bath_limit, self.engine, self.actor, t.id, t.bath_limit_ah
                )
        bg = [
            asyncio.create_task(self._flusher(), name="flusher"),
            asyncio.create_task(self._idle_monitor(), name="idle-monitor"),
        ]
        log.info("daemon_started", daemon=self.owner, tools=self.tool_ids)
        try:
            while not self._stop.is_set():
                await self._heartbeat()
                await self._claim()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.config.daemon.claim_interval_s):
                        await self._stop.wait()
        finally:
            await cancel_all([*bg, *self.runs.values(), *self._detached])
            await self.buffer.flush()
            for oven in self.ovens.values():
                await oven.close()
            for press in self.presses.values():
                await press.close()
            for plater in self.platers.values():
                await plater.close()
            await asyncio.to_thread(tools.release_leases, self.engine, self.owner, self.actor)
            log.info("daemon_stopped", daemon=self.owner, samples=self.buffer.written)

    def holds(self, tool_id: str) -> bool:
        """True while this daemon may drive the tool: leased, and the lease not yet stale.

        A daemon that was paused past its lease (SIGSTOP, a stalled host) must not act on
        the tool before its next heartbeat tells it another daemon took over.
        """
        return tool_id in self.leased and time.monotonic() < self._lease_until

    async def _heartbeat(self) -> None:
        ttl = self.config.daemon.lease_ttl_s
        began = time.monotonic()
        try:
            held = set(
                await asyncio.to_thread(
                    tools.heartbeat, self.engine, self.owner, self.tool_ids, ttl, self.actor
                )
            )
        except SQLAlchemyError as exc:
            # Keep going: holds() lets the leases lapse locally if this goes on.
            log.warning("heartbeat_failed", error=str(exc)[:200])
            return
        self._lease_until = began + ttl * LEASE_TRUST
        lost = self.leased - held
        # Newly held, or renewed after supervision let go of a stale lease: re-attach.
        newly = (held - self.leased) | (held & self._suspended)
        self._suspended.clear()
        self.leased = held
        for tool_id in sorted(lost):
            # Another daemon holds it now and re-attaches: stop driving, leave the run open.
            log.warning("lease_lost", tool_id=tool_id)
            task = self.runs.pop(tool_id, None)
            if task is not None:
                task.cancel()
                self._detached.add(task)  # the shutdown waits for it too
                task.add_done_callback(self._detached.discard)
        if newly:
            # A tool we just took (first start, or taken over): re-attach to runs in flight.
            log.info("lease_acquired", tools=sorted(newly))
            for ticket in await asyncio.to_thread(runs.open_runs, self.engine, sorted(newly)):
                self._spawn(ticket, reattach=True)

    async def _claim(self) -> None:
        now = self.clock.monotonic()
        if now >= self._next_qtime_check:
            self._next_qtime_check = now + QTIME_CHECK_S
            for lot_id in await asyncio.to_thread(lots.enforce_qtime, self.engine, self.actor):
                log.warning("qtime_hold", lot_id=lot_id)
        free = [t for t in sorted(self.leased) if t not in self.runs and self.holds(t)]
        for ticket in await asyncio.to_thread(runs.claim, self.engine, self.actor, free):
            self._spawn(ticket, reattach=False)

    def _spawn(self, ticket: RunTicket, reattach: bool) -> None:
        if ticket.tool_id in self.runs:
            return
        task = asyncio.create_task(self._supervise(ticket, reattach), name=f"run-{ticket.run_id}")
        self.runs[ticket.tool_id] = task
        tool_id = ticket.tool_id

        def forget(_task: asyncio.Task[None]) -> None:
            if self.runs.get(tool_id) is _task:
                del self.runs[tool_id]

        task.add_done_callback(forget)

    async def _supervise(self, ticket: RunTicket, reattach: bool) -> None:
        tool_id = ticket.tool_id
        recorder = ServiceRecorder(
            self.engine, self.actor, tool_id, self.buffer, lambda: self.holds(tool_id), self.owner
        )
        recorder.lot_id = ticket.lot_id
        poll = self.config.daemon.poll_interval_s
        source = f"{ticket.recipe_name} v{ticket.recipe_version}"
        sup: OvenRunSupervisor | PressRunSupervisor | PlatingRunSupervisor
        if ticket.recipe_kind == "plating":
            recipe = parse_plating_recipe(ticket.recipe_body, source)
            sup = PlatingRunSupervisor(
                self.platers[ticket.tool_id],
                recipe,
                ticket.run_id,
                ticket.wafer_ids,
                ticket.eta if ticket.eta is not None else recipe.efficiency.eta,
                recorder,
                self.clock,
                poll,
            )
        elif ticket.recipe_kind == "muf":
            muf = parse_muf_recipe(ticket.recipe_body, source)
            material = parse_material(ticket.material_body or "", ticket.material_name or "?")
            sup = PressRunSupervisor(
                self.presses[ticket.tool_id],
                muf,
                material.kinetics,
                material.name,
                ticket.run_id,
                ticket.wafer_ids,
                recorder,
                self.clock,
                poll,
            )
        else:
            sup = OvenRunSupervisor(
                self.ovens[ticket.tool_id],
                parse_oven_recipe(ticket.recipe_body, source),
                ticket.run_id,
                recorder,
                self.clock,
                SupervisorSettings(poll_interval_s=poll),
                list(ticket.cure_inputs),
            )
        with structlog.contextvars.bound_contextvars(
            run_id=ticket.run_id, lot_id=ticket.lot_id, tool_id=ticket.tool_id
        ):
            try:
                if reattach:
                    if isinstance(sup, OvenRunSupervisor):
                        await sup.reattach(ticket.start_c)
                    elif isinstance(sup, PressRunSupervisor):
                        await sup.reattach()
                    else:
                        await sup.reattach(ticket.started_at)
                elif not await sup.start():
                    return
                await sup.supervise()
            except asyncio.CancelledError:
                log.info("supervision_suspended", reason="stopping or lease lost; run stays open")
                raise
            except LeaseLost:
                self._let_go(tool_id)
            except Exception:
                if self.holds(tool_id):
                    log.exception("supervision_crashed")
                else:  # e.g. PostgreSQL ended our session while we were stalled
                    self._let_go(tool_id)

    def _let_go(self, tool_id: str) -> None:
        """Stale lease: stop supervising now; the run stays open.

        The next heartbeat either renews the lease (the tool counts as newly held, so the
        run is re-attached) or finds that another daemon has taken the tool.
        """
        log.warning("supervision_suspended", reason="lease stale; run stays open")
        self._suspended.add(tool_id)
        if self.runs.get(tool_id) is asyncio.current_task():
            del self.runs[tool_id]  # now, not in the done callback: a re-attach may follow

    async def _flusher(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(self.config.daemon.flush_interval_s)
            await self.buffer.flush()

    async def _idle_monitor(self) -> None:
        """Poll tools without a run: live values and online state for operators, and the
        tool's own alarms (mes.daemon.idle: raised once while they last; one takes the
        tool down). A database error is logged and the next poll tries again."""
        while not self._stop.is_set():
            for tool_id in self.tool_ids:
                if tool_id in self.runs or not self.holds(tool_id):
                    self._idle_alarms.forget(tool_id)
                    continue
                try:
                    await self._idle_poll(tool_id)
                except SQLAlchemyError as exc:
                    log.warning("idle_poll_failed", tool_id=tool_id, error=str(exc))
            await asyncio.sleep(self.config.daemon.idle_poll_interval_s)

    async def _idle_poll(self, tool_id: str) -> None:
        try:
            reading = await self._idle_read(tool_id)
        except DriverError:
            await asyncio.to_thread(tools.publish_values, self.engine, tool_id, False, {})
            return
        await asyncio.to_thread(tools.publish_values, self.engine, tool_id, True, reading.values)
        fresh = self._idle_alarms.new(tool_id, set(reading.alarms), time.monotonic())
        for code in fresh:
            if tool_id in self.runs or not self.holds(tool_id):
                self._idle_alarms.forget(tool_id)  # a run or another daemon took it meanwhile
                return
            log.warning("idle_tool_alarm", tool_id=tool_id, code=code)
            await asyncio.to_thread(
                runs.record_alarm,
                self.engine,
                self.actor,
                tool_id=tool_id,
                kind="tool",
                code=code,
                message=f"{tool_id} reports {reading.alarms[code]} while idle",
            )

    async def _idle_read(self, tool_id: str) -> idle.IdleReading:
        if tool_id in self.ovens:
            return idle.oven_reading(await self.ovens[tool_id].read())
        if tool_id in self.platers:
            return idle.plater_reading(await self.platers[tool_id].read())
        return idle.press_reading(await self.presses[tool_id].read())


def _end_stalled_transactions(engine: Engine, after_s: float) -> None:
    """PostgreSQL ends a session of this daemon that idles in a transaction past the lease TTL.

    A daemon frozen mid-transaction (SIGSTOP, a stalled VM) would otherwise keep its row
    locks (the tool row, say) and the daemon taking its tools over would wait on them for
    as long as the frozen one stays frozen.
    """
    option = f"-c idle_in_transaction_session_timeout={int(after_s * 1000)}"

    def add_option(_dialect: Any, _rec: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        options = str(cparams.get("options", ""))
        if option not in options:
            cparams["options"] = f"{options} {option}".strip()

    event.listen(engine, "do_connect", add_option)
    engine.dispose()  # connections pooled before (migrations, user checks) reconnect with it
