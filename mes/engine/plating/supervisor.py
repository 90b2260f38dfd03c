"""Supervise one plating run: every wafer of the lot through the tool's cells.

The engine integrates each wafer's measured current into charge (never the
set-point), turns it into thickness by Faraday's law with the tool's learned
current efficiency η, and checks it against the recipe's target at the end.
While a wafer plates, its current must follow the set-point within the band,
the cell voltage stay inside its window, and the bath stay at temperature.

After a daemon restart (or a takeover by another daemon) the supervisor
re-attaches: it replays the stored samples to rebuild each wafer's charge, the
wafers already finished and the excursions seen, then carries on with the tool
as it finds it.

A hole in a wafer's current samples (a stalled poll, an unreachable tool, a daemon
restart) is bridged with the tool's programmed current, scaled to the current measured
at its ends. A hole is verified when both ends were measured on the program (within the
current band); a wafer whose unverified holes add up to more than MAX_UNVERIFIED_S, or
that left its cell while no supervisor watched, is named for metrology, and its record
does not teach η.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import fmean

import structlog

from drivers.core.clock import Clock
from drivers.core.errors import DriverError
from drivers.core.plater import (
    CellSnapshot,
    CellState,
    Plater,
    PlaterAlarm,
    PlaterSnapshot,
    PlatingStep,
)
from mes.engine.events import Event, excursion_reason, fmt_t
from mes.engine.plating.program import ToolProgram
from mes.engine.plating.values import from_stored, published, to_values
from mes.engine.recorder import RunRecorder
from mes.services.plating import WaferPlating
from mes.services.runs import Verdict
from recipes.faraday import MAX_UNVERIFIED_S, ChargeIntegrator, current_a, thickness_um
from recipes.oven import ExcursionAction
from recipes.plating import PlatingRecipe

log = structlog.get_logger(__name__)
SETTLED = 0.01  # the set-point is on a step's current (not ramping) within 1 %
SETTLE_S = 3.0  # s of tool time for the rectifier to follow a new set-point


@dataclass
class _Wafer:
    wafer_id: str
    cell: int
    charge: ChargeIntegrator = field(default_factory=ChargeIntegrator)
    alarm_bits: int = 0
    settled_on: float | None = None  # the step current the set-point sits on
    settled_at: float = 0.0
    unverified_s: float = 0.0  # tool time of holes bridged without confirmation


class PlatingRunSupervisor:
    def __init__(
        self,
        plater: Plater,
        recipe: PlatingRecipe,
        run_id: int,
        wafer_ids: tuple[str, ...],
        eta: float,
        recorder: RunRecorder,
        clock: Clock,
        poll_interval_s: float = 0.5,
    ) -> None:
        self.plater = plater
        self.recipe = recipe
        self.run_id = run_id
        self.wafer_ids = wafer_ids
        self.queue = list(wafer_ids)
        self.eta = eta
        self.recorder = recorder
        self.clock = clock
        self.poll_interval_s = poll_interval_s
        area = recipe.wafer.plated_area_dm2
        self.steps = [
            PlatingStep(current_a(s.current_density_asd, area), s.duration_s) for s in recipe.steps
        ]
        # The tool ramps between steps at one rate: the recipe's slowest ramp.
        self.ramp_s = max(s.ramp_s for s in recipe.steps)
        self.program = ToolProgram(self.steps, self.ramp_s)
        self.active: dict[int, _Wafer] = {}
        self.results: list[WaferPlating] = []
        self.excursions: list[Event] = []
        self.failures: list[str] = []
        self._failing: set[str] = set()
        self._t0 = 0.0
        self._replaying = False
        self._resumed_from: float | None = None  # run time of the last sample before a re-attach

    def _t(self) -> float:
        return self.clock.monotonic() - self._t0

    async def start(self) -> bool:
        try:
            snap = await self._prepare()
        except DriverError as exc:
            await self.recorder.alarm(self.run_id, "policy", "start_failed", str(exc), None)
            await self.recorder.finish(self.run_id, Verdict(False, [f"could not start: {exc}"], {}))
            return False
        self._t0 = self.clock.monotonic()
        await self.recorder.started(self.run_id, snap.bath_temp_c)
        return True

    async def _prepare(self) -> PlaterSnapshot:
        snap = await self.plater.read()
        for cell in snap.cells:
            if cell.state is CellState.PLATING:
                raise DriverError(f"cell {cell.cell} is plating {cell.wafer_id}")
            if cell.state is not CellState.IDLE:
                await self.plater.reset(cell.cell)
        return snap

    async def reattach(self, started_at: datetime | None) -> None:
        """Rebuild the run's state from its stored samples; `supervise` then goes on live."""
        rows = await self.recorder.stored_samples(self.run_id)
        snaps = from_stored(rows, self.run_id, self.wafer_ids)
        self._replaying = True
        try:
            for t, snap in snaps:
                await self._observe(snap, t)
        finally:
            self._replaying = False
        last_t = snaps[-1][0] if snaps else 0.0
        resume = last_t
        if started_at is not None:  # the run's time axis goes on at the clock's pace
            since = self.clock.now() - started_at.replace(tzinfo=started_at.tzinfo or UTC)
            resume = max(resume, since.total_seconds() * self.clock.speed)
        self._t0 = self.clock.monotonic() - resume
        self._resumed_from = last_t if snaps else None
        log.info(
            "run_reattached",
            run_id=self.run_id,
            replayed=len(snaps),
            finished=[r.wafer_id for r in self.results],
            in_cells={c: w.wafer_id for c, w in self.active.items()},
        )

    async def supervise(self) -> Verdict:
        unreachable = False
        while self.queue or self.active:
            try:
                snap = await self.plater.read()
            except DriverError as exc:
                if not unreachable:
                    unreachable = True
                    await self.recorder.alarm(
                        self.run_id, "comm", "unreachable", str(exc), self._t()
                    )
                await self.clock.sleep(self.poll_interval_s)
                continue
            unreachable = False
            t = self._t()
            if self._resumed_from is not None:
                await self._resume(snap, t)
            verdict = await self._observe(snap, t)
            if verdict is not None:
                return verdict
            await self._feed(snap.cells)
            await self.clock.sleep(self.poll_interval_s)
        reasons = []
        if self.excursions and self.recipe.on_excursion is ExcursionAction.HOLD_AT_END:
            reasons.append(excursion_reason(self.excursions))
        reasons += self.failures
        return await self._end(reasons)

    async def _observe(self, snap: PlaterSnapshot, t: float) -> Verdict | None:
        """One poll (live, or replayed from the record): check, integrate, record."""
        failing: dict[str, str] = {}
        b = self.recipe.bands
        if abs(snap.bath_temp_c - b.bath_temp_c) > b.bath_temp_band_c:
            failing["bath_temp"] = (
                f"bath at {snap.bath_temp_c:.1f} °C outside {b.bath_temp_c:g} ± "
                f"{b.bath_temp_band_c:g} °C at {fmt_t(t)}"
            )
        for cell in snap.cells:
            lost = await self._watch_cell(cell, failing)
            if lost is not None:
                return await self._end([lost], aborted=True)
        events = [Event("excursion", k, m, t) for k, m in failing.items() if k not in self._failing]
        self._failing = set(failing)
        self.excursions += events
        if self._replaying:  # recorded the first time round
            return None
        await self.recorder.samples(self.run_id, t, to_values(snap, self.run_id, self.wafer_ids))
        await self.recorder.publish(True, published(snap) | {"t_program": t})
        for ev in events:
            await self.recorder.alarm(self.run_id, ev.kind, ev.code, ev.message, t)
        if self.excursions and self.recipe.on_excursion is ExcursionAction.ABORT:
            for cell_no in list(self.active):
                try:
                    await self.plater.abort(cell_no)
                except DriverError as exc:
                    log.warning("abort_failed", cell=cell_no, error=str(exc))
            first = self.excursions[0].message
            return await self._end([f"aborted on excursion: {first}"], aborted=True)
        return None

    async def _resume(self, snap: PlaterSnapshot, t: float) -> None:
        """The first live poll after a re-attach: record the gap, settle what changed in it."""
        assert self._resumed_from is not None
        await self.recorder.alarm(
            self.run_id,
            "gap",
            "gap",
            f"no samples from {fmt_t(self._resumed_from)} to {fmt_t(t)} "
            "(supervisor was not running)",
            t,
        )
        self._resumed_from = None
        for cell in snap.cells:
            w = self.active.get(cell.cell)
            if w is not None and (cell.run_id, cell.wafer_id) != (self.run_id, w.wafer_id):
                self._left_unwatched(w)
            if cell.cell in self.active or cell.run_id != self.run_id:
                continue
            if cell.state is CellState.LOADED and cell.wafer_id in self.queue:
                # Loaded, never started: back to the queue, fed again like any other.
                await self.plater.reset(cell.cell)
            elif cell.wafer_id not in self.queue and cell.state is not CellState.IDLE:
                await self.plater.reset(cell.cell)  # a wafer of ours already accounted for

    def _left_unwatched(self, w: _Wafer) -> None:
        """The wafer is no longer in its cell and nobody saw it end: its charge from the
        last sample seen is estimated from the rest of its program, and it needs metrology."""
        del self.active[w.cell]
        seen_to = w.charge.last_t_s or 0.0
        if seen_to < self.program.end_s:
            holes = len(w.charge.gaps)
            w.charge.advance(self.program.end_s, 0.0)
            if len(w.charge.gaps) == holes:  # too short to be a gap, and still not seen
                w.unverified_s += self.program.end_s - seen_to
        self._finish_wafer(w, check=False)
        self.failures.append(
            f"{w.wafer_id}: left cell {w.cell} while no supervisor watched it "
            f"(current seen to {fmt_t(seen_to)} of its job); measure it"
        )

    async def _watch_cell(self, cell: CellSnapshot, failing: dict[str, str]) -> str | None:
        w = self.active.get(cell.cell)
        if w is None:
            w = self._adopt(cell)
            if w is None:
                return None
        if cell.run_id != self.run_id or cell.wafer_id != w.wafer_id:
            if not self._replaying:
                return (
                    f"cell {cell.cell} no longer carries {w.wafer_id} of run {self.run_id}: "
                    "tool restarted or reset"
                )
            # Recorded across an earlier re-attach that found it gone: settle it the same way.
            self._left_unwatched(w)
            w = self._adopt(cell)
            if w is None:
                return None
        where = f"{w.wafer_id} in cell {cell.cell} at {fmt_t(cell.job_time_s)}"
        new_alarms = cell.alarm_bits & ~w.alarm_bits
        w.alarm_bits = cell.alarm_bits
        for flag in PlaterAlarm:
            if new_alarms & flag and flag.name:
                failing[f"tool_{flag.name.lower()}_{cell.cell}"] = (
                    f"plater reports {flag.text}: {where}"
                )
        if cell.state in (CellState.PLATING, CellState.DONE):
            # An out-of-order or implausible sample is skipped; the integrator counts the hole.
            with contextlib.suppress(ValueError):
                w.charge.advance(cell.job_time_s, cell.current_a)
        if cell.state is CellState.PLATING:
            self._check_cell(cell, w, where, failing)
        elif cell.state is CellState.DONE:
            self._finish_wafer(w)
            await self._reset(cell.cell)
            del self.active[cell.cell]
        elif cell.state in (CellState.FAULT, CellState.ABORTED):
            self._finish_wafer(w)
            self.failures.append(f"{w.wafer_id}: cell {cell.cell} ended {cell.state.name.lower()}")
            await self._reset(cell.cell)
            del self.active[cell.cell]
        return None

    def _adopt(self, cell: CellSnapshot) -> _Wafer | None:
        """A wafer of this run in a cell the supervisor has not followed: replayed, or
        started by the previous daemon after its last recorded sample."""
        if cell.run_id != self.run_id or cell.wafer_id not in self.queue:
            return None
        if cell.state in (CellState.IDLE, CellState.LOADED):
            return None  # not started: _resume puts a loaded one back in the queue
        self.queue.remove(cell.wafer_id)
        return self._track(cell.wafer_id, cell.cell)

    def _track(self, wafer_id: str, cell: int) -> _Wafer:
        """Follow a wafer from the start of its job: 0 A at job time 0 (a later first sample
        leaves a hole from there, bridged by the program like any other)."""
        w = _Wafer(wafer_id, cell)
        w.charge = ChargeIntegrator(bridge=lambda t0, i0, t1, i1: self._bridge(w, t0, i0, t1, i1))
        w.charge.advance(0.0, 0.0)
        self.active[cell] = w
        return w

    def _bridge(self, w: _Wafer, t0: float, i0: float, t1: float, i1: float) -> float:
        """Charge across a hole: the programmed charge, scaled by measured / programmed
        current at its ends; verified when both ends were measured and agree."""
        ends = [
            i / p
            for i, p in ((i0, self.program.current_a(t0)), (i1, self.program.current_a(t1)))
            if p > 0
        ]
        band = self.recipe.bands.current_pct / 100
        if len(ends) < 2 or abs(ends[0] - ends[1]) > band:
            w.unverified_s += t1 - t0
        if not ends:
            return (i0 + i1) / 2 * (t1 - t0)
        return self.program.charge_c(t0, t1) * fmean(ends)

    def _check_cell(
        self, cell: CellSnapshot, w: _Wafer, where: str, failing: dict[str, str]
    ) -> None:
        b = self.recipe.bands
        target = next(
            (
                s.current_a
                for s in self.steps
                if abs(cell.current_setpoint_a - s.current_a) <= SETTLED * s.current_a
            ),
            None,
        )
        # The rectifier lags its set-point: the band applies once it has had time to follow.
        if target != w.settled_on:
            w.settled_on, w.settled_at = target, cell.job_time_s
        settled = target is not None and cell.job_time_s - w.settled_at >= SETTLE_S
        if settled and target and abs(cell.current_a - target) > b.current_pct / 100 * target:
            failing[f"current{cell.cell}"] = (
                f"current {cell.current_a:.2f} A outside {target:.2f} A ± {b.current_pct:g} %: "
                f"{where}"
            )
        if cell.current_a > 0 and not b.voltage_min_v <= cell.voltage_v <= b.voltage_max_v:
            failing[f"voltage{cell.cell}"] = (
                f"voltage {cell.voltage_v:.2f} V outside "
                f"{b.voltage_min_v:g}..{b.voltage_max_v:g} V: {where}"
            )

    async def _reset(self, cell: int) -> None:
        if not self._replaying:  # the previous supervisor reset it when it saw this
            await self.plater.reset(cell)

    def _finish_wafer(self, w: _Wafer, check: bool = True) -> None:
        area = self.recipe.wafer.plated_area_dm2
        q = w.charge.charge_c
        h = thickness_um(q, area, self.eta)
        self.results.append(
            WaferPlating(
                w.wafer_id,
                w.cell,
                q,
                self.eta,
                h,
                thickness_um(q, area, 1.0),
                len(w.charge.gaps),
                w.unverified_s,
            )
        )
        if not check:
            return
        if w.unverified_s > MAX_UNVERIFIED_S:
            self.failures.append(
                f"{w.wafer_id}: current not confirmed for {w.unverified_s:.0f} s of its job "
                f"(charge {q:.0f} C estimated from the program); measure it"
            )
            return
        tgt = self.recipe.target
        if abs(h - tgt.thickness_um) > tgt.tolerance_pct / 100 * tgt.thickness_um:
            self.failures.append(
                f"{w.wafer_id}: thickness {h:.2f} µm outside {tgt.thickness_um:g} µm ± "
                f"{tgt.tolerance_pct:g} % (charge {q:.0f} C, η {self.eta:.3f})"
            )

    async def _feed(self, cells: tuple[CellSnapshot, ...]) -> None:
        """Load the next wafers into idle cells and start them."""
        for cell in cells:
            if not self.queue or cell.cell in self.active or cell.state is not CellState.IDLE:
                continue
            wafer_id = self.queue.pop(0)
            try:
                await self.plater.load(cell.cell, wafer_id, self.run_id, self.steps, self.ramp_s)
                await self.plater.start(cell.cell)
            except DriverError as exc:
                self.queue.insert(0, wafer_id)
                await self.recorder.alarm(self.run_id, "comm", "load_failed", str(exc), self._t())
                return
            self._track(wafer_id, cell.cell)
            log.info("wafer_started", wafer=wafer_id, cell=cell.cell)

    async def _end(self, reasons: list[str], aborted: bool = False) -> Verdict:
        summary: dict[str, object] = {
            "wafers": len(self.results),
            "thickness_um": {r.wafer_id: round(r.thickness_um, 3) for r in self.results},
            "eta": round(self.eta, 4),
        }
        verdict = Verdict(not reasons, reasons, summary, aborted=aborted, platings=self.results)
        await self.recorder.finish(self.run_id, verdict)
        log.info("run_finished", run_id=self.run_id, passed=verdict.passed, reasons=reasons)
        return verdict
