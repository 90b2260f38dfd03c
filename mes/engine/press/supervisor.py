"""Supervise one molding job: load, start (or re-attach), watch every cycle, decide."""

from __future__ import annotations

import structlog

from drivers.core.clock import Clock
from drivers.core.errors import DriverError
from drivers.core.press import JobStatus, MoldingPress, PressJob, PressSnapshot
from mes.engine.events import Event, fmt_t
from mes.engine.press.checks import PressChecker
from mes.engine.recorder import RunRecorder, by_time
from mes.services.runs import Verdict
from recipes.cure import EmcKinetics
from recipes.muf import MufRecipe
from recipes.oven import ExcursionAction

log = structlog.get_logger(__name__)

SAMPLE_FIELDS = (
    "platen_top_c",
    "platen_bottom_c",
    "clamp_force_kn",
    "transfer_pressure_mpa",
    "ram_position_mm",
    "current_cycle",
    "cycle_state",
)


def to_values(snap: PressSnapshot) -> dict[str, float | None]:
    return {f: float(getattr(snap, f)) for f in SAMPLE_FIELDS}


class PressRunSupervisor:
    def __init__(
        self,
        press: MoldingPress,
        recipe: MufRecipe,
        kinetics: EmcKinetics,
        material: str,
        run_id: int,
        wafer_ids: tuple[str, ...],
        recorder: RunRecorder,
        clock: Clock,
        poll_interval_s: float = 0.5,
    ) -> None:
        self.press = press
        self.recipe = recipe
        self.run_id = run_id
        self.recorder = recorder
        self.clock = clock
        self.poll_interval_s = poll_interval_s
        self.checker = PressChecker(recipe, kinetics, material, wafer_ids)
        self._last_t: float | None = None
        self._unreachable = False

    def job(self) -> PressJob:
        r = self.recipe
        return PressJob(
            name=r.recipe.name,
            run_id=self.run_id,
            mold_temp_c=r.mold.temperature_c,
            clamp_force_kn=r.clamp.force_kn,
            transfer_pressure_mpa=r.transfer.pressure_mpa,
            fill_time_s=r.transfer.fill_time_s,
            cure_time_s=r.transfer.cure_time_s,
            cycles=len(self.checker.wafer_ids),
        )

    async def start(self) -> bool:
        try:
            snap = await self._prepare()
            await self.press.start()
        except DriverError as exc:
            await self.recorder.alarm(self.run_id, "policy", "start_failed", str(exc), None)
            await self.recorder.finish(self.run_id, Verdict(False, [f"could not start: {exc}"], {}))
            return False
        await self.recorder.started(self.run_id, (snap.platen_top_c + snap.platen_bottom_c) / 2)
        log.info("press_job_started", run_id=self.run_id, cycles=len(self.checker.wafer_ids))
        return True

    async def _prepare(self) -> PressSnapshot:
        snap = await self.press.read()
        if snap.job_status is JobStatus.IN_PRODUCTION:
            raise DriverError(f"the press is producing run {snap.run_id}")
        if snap.job_status in (JobStatus.FINISHED, JobStatus.INTERRUPTED):
            await self.press.reset()
        await self.press.load_job(self.job())
        return snap

    async def reattach(self) -> None:
        """Rebuild the checker from stored samples (a cycle cut by the gap is flagged)."""
        rows = await self.recorder.stored_samples(self.run_id)
        polls = by_time(rows)
        for t, values in polls:
            self.checker.observe(_from_values(t, values, self.run_id))
        self._last_t = polls[-1][0] if polls else None

    async def supervise(self) -> Verdict:
        gap_pending = self._last_t is not None
        while True:
            try:
                snap = await self.press.read()
            except DriverError as exc:
                if not self._unreachable:
                    self._unreachable = True
                    await self.recorder.alarm(
                        self.run_id, "comm", "unreachable", str(exc), self._last_t
                    )
                    await self.recorder.publish(False, {})
                gap_pending = True
                await self.clock.sleep(self.poll_interval_s)
                continue
            self._unreachable = False
            lost = self._lost(snap)
            if lost:
                self.checker.finish()
                return await self._end(False, [lost], aborted=True)
            if gap_pending and self._last_t is not None:
                await self.recorder.alarm(
                    self.run_id,
                    "gap",
                    "gap",
                    f"no samples from {fmt_t(self._last_t)} to {fmt_t(snap.job_time_s)}",
                    snap.job_time_s,
                )
            events = self.checker.observe(snap, after_gap=gap_pending)
            gap_pending = False
            self._last_t = snap.job_time_s
            values = to_values(snap)
            await self.recorder.samples(self.run_id, snap.job_time_s, values)
            await self.recorder.publish(True, values | {"t_program": snap.job_time_s})
            for ev in events:
                await self._raise(ev)
            if events and self.recipe.on_excursion is ExcursionAction.ABORT:
                try:
                    await self.press.abort()
                except DriverError as exc:
                    log.warning("abort_failed", run_id=self.run_id, error=str(exc))
                self.checker.finish()
                return await self._end(
                    False, [f"aborted on excursion: {events[0].message}"], aborted=True
                )
            if snap.job_status is JobStatus.FINISHED:
                self.checker.finish()
                hold = self.recipe.on_excursion is ExcursionAction.HOLD_AT_END
                reasons = self.checker.verdict_reasons(hold_on_excursion=hold)
                return await self._end(not reasons, reasons)
            await self.clock.sleep(self.poll_interval_s)

    def _lost(self, snap: PressSnapshot) -> str | None:
        at = fmt_t(self._last_t) if self._last_t is not None else "start"
        if snap.run_id != self.run_id:
            return (
                f"the press no longer carries run {self.run_id} (it reports run "
                f"{snap.run_id}); job lost after {at}: press restarted or reset"
            )
        if snap.job_status is JobStatus.INTERRUPTED:
            return f"job interrupted at the press after {at}"
        if snap.job_status in (JobStatus.NO_JOB, JobStatus.SET_UP) and self._last_t is not None:
            return f"job lost after {at}: the press is {snap.job_status.name.lower()}"
        return None

    async def _raise(self, ev: Event) -> None:
        log.warning("excursion", run_id=self.run_id, code=ev.code, message=ev.message)
        await self.recorder.alarm(self.run_id, ev.kind, ev.code, ev.message, ev.t_program)

    async def _end(self, passed: bool, reasons: list[str], aborted: bool = False) -> Verdict:
        verdict = Verdict(
            passed,
            reasons,
            self.checker.summary(),
            aborted=aborted,
            cures=[self.checker.records[k] for k in sorted(self.checker.records)],
            qtime_h=self.recipe.qtime_to_pmc_h,
        )
        await self.recorder.finish(self.run_id, verdict)
        log.info("run_finished", run_id=self.run_id, passed=passed, reasons=reasons)
        return verdict


def _from_values(t: float, v: dict[str, float | None], run_id: int) -> PressSnapshot:
    def f(name: str) -> float:
        x = v.get(name)
        return 0.0 if x is None else x

    from drivers.core.press import CycleState

    return PressSnapshot(
        job_status=JobStatus.IN_PRODUCTION,
        production_status=3,
        cycle_state=CycleState(int(f("cycle_state"))),
        alarm_bits=0,
        run_id=run_id,
        cycle_time_s=0.0,
        job_time_s=t,
        current_cycle=int(f("current_cycle")),
        cycles=0,
        good_cycles=0,
        bad_cycles=0,
        last_cycle_time_s=0.0,
        platen_top_c=f("platen_top_c"),
        platen_bottom_c=f("platen_bottom_c"),
        clamp_force_kn=f("clamp_force_kn"),
        transfer_pressure_mpa=f("transfer_pressure_mpa"),
        ram_position_mm=f("ram_position_mm"),
    )
