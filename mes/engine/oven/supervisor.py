"""Supervise one oven run: start (or re-attach), watch, enforce, decide.

The oven executes its own program; the supervisor polls its process image,
feeds every snapshot to the `OvenChecker`, records samples and alarms through
the `RunRecorder`, applies the recipe's excursion policy and, when the
program ends, gives the verdict (track out, or hold with the reasons).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import structlog

from drivers.core.clock import Clock
from drivers.core.errors import DriverError, ToolUnavailable
from drivers.core.oven import Oven, OvenAlarm, OvenSnapshot, ProgramState
from mes.engine.cure import WaferCureTracker
from mes.engine.events import Event, fmt_t
from mes.engine.oven.checks import OvenChecker
from mes.engine.oven.program import to_program
from mes.engine.oven.values import from_stored, to_values
from mes.engine.recorder import RunRecorder
from mes.services.ledger import WaferCureInput
from mes.services.runs import Verdict
from recipes.oven import ExcursionAction, OvenRecipe

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SupervisorSettings:
    poll_interval_s: float = 0.5  # wall seconds between reads of the process image
    publish_every: int = 1  # publish live values every n polls


class OvenRunSupervisor:
    def __init__(
        self,
        oven: Oven,
        recipe: OvenRecipe,
        run_id: int,
        recorder: RunRecorder,
        clock: Clock,
        settings: SupervisorSettings | None = None,
        cure_inputs: list[WaferCureInput] | None = None,
    ) -> None:
        self.oven = oven
        self.recipe = recipe
        self.run_id = run_id
        self.recorder = recorder
        self.clock = clock
        self.settings = settings or SupervisorSettings()
        self.checker: OvenChecker | None = None
        self._unreachable_since: float | None = None
        self._last_t: float | None = None
        self._alarm_bits = 0
        # The ledger: each molded wafer's α, integrated from the chamber temperature.
        self.cures = WaferCureTracker(cure_inputs or [])

    async def start(self) -> bool:
        """Download, stamp and start; False (and the run finished as held) if it cannot."""
        try:
            start_c = await self._prepare()
            await self.oven.start()
        except DriverError as exc:
            await self.recorder.alarm(self.run_id, "policy", "start_failed", str(exc), None)
            await self.recorder.finish(
                self.run_id, Verdict(False, [f"could not start: {exc}"], {}, aborted=False)
            )
            return False
        await self.recorder.started(self.run_id, start_c)
        self.checker = OvenChecker(self.recipe, start_c)
        log.info("run_started", run_id=self.run_id, start_c=round(start_c, 1))
        return True

    async def _prepare(self) -> float:
        """Download the program, set the purge, stamp the run id; the start temperature."""
        snap = await self.oven.read()
        if snap.state is ProgramState.RUNNING:
            raise DriverError(f"the oven is already running run {snap.run_id}")
        await self.oven.download_program(to_program(self.recipe))
        await self.oven.set_n2_flow(self.recipe.atmosphere.n2_setpoint_lpm)
        await self.oven.stamp_run_id(self.run_id)
        snap = await self.oven.read()
        valid = [z for z in snap.zones_c if not math.isnan(z)]
        start_c = sum(valid) / len(valid) if valid else snap.setpoint_c
        limit = self.recipe.limits.start_temp_max_c
        if start_c > limit:
            raise DriverError(f"oven at {start_c:.1f} °C, a run starts at or below {limit:g} °C")
        return start_c

    async def reattach(self, start_c: float | None) -> None:
        """Rebuild enforcement state from the stored samples of a run in flight."""
        rows = await self.recorder.stored_samples(self.run_id)
        snaps = from_stored(rows, self.run_id)
        if start_c is None:
            start_c = snaps[0].setpoint_c if snaps else 25.0
        self.checker = OvenChecker(self.recipe, start_c)
        for snap in snaps:
            self.checker.observe(snap)  # events were recorded the first time round
            self._advance_cure(snap, after_gap=False)
        self._last_t = snaps[-1].program_time_s if snaps else None
        log.info("run_reattached", run_id=self.run_id, replayed=len(snaps), last_t=self._last_t)

    async def supervise(self) -> Verdict:
        """Watch the run to its end and record the verdict."""
        assert self.checker is not None, "start() or reattach() first"
        polls = 0
        gap_pending = self._last_t is not None  # after a re-attach the first interval is unseen
        gap_reason = "supervisor was not running"
        while True:
            try:
                snap = await self.oven.read()
            except (ToolUnavailable, DriverError) as exc:
                if self._unreachable_since is None:
                    self._unreachable_since = self.clock.monotonic()
                    await self.recorder.alarm(
                        self.run_id, "comm", "unreachable", str(exc), self._last_t
                    )
                    await self.recorder.publish(False, {})
                gap_pending, gap_reason = True, "tool unreachable"
                await self.clock.sleep(self.settings.poll_interval_s)
                continue
            self._unreachable_since = None
            lost = self._lost(snap)
            if lost is not None:
                return await self._end(Verdict(False, [lost], self._summary(), aborted=True))
            if gap_pending and self._last_t is not None:
                await self.recorder.alarm(
                    self.run_id,
                    "gap",
                    "gap",
                    f"no samples from {fmt_t(self._last_t)} to {fmt_t(snap.program_time_s)} "
                    f"({gap_reason})",
                    snap.program_time_s,
                )
            if snap.state is ProgramState.COMPLETE:
                # The program is over: the controller's setpoint no longer follows the recipe.
                self.checker.last = snap
                events = []
            else:
                events = self.checker.observe(snap, after_gap=gap_pending)
                self._advance_cure(snap, gap_pending)
            gap_pending = False
            self._last_t = snap.program_time_s
            values = to_values(snap)
            await self.recorder.samples(self.run_id, snap.program_time_s, values)
            polls += 1
            if polls % self.settings.publish_every == 0:
                await self.recorder.publish(True, values | {"t_program": snap.program_time_s})
            for ev in [*self._tool_alarms(snap), *events]:
                await self._raise(ev)
            if events and self.recipe.on_excursion is ExcursionAction.ABORT:
                try:
                    await self.oven.abort()
                except DriverError as exc:
                    log.warning("abort_failed", run_id=self.run_id, error=str(exc))
                reason = f"aborted on excursion: {events[0].message}"
                return await self._end(Verdict(False, [reason], self._summary(), aborted=True))
            if snap.state is ProgramState.COMPLETE:
                hold = self.recipe.on_excursion is ExcursionAction.HOLD_AT_END
                reasons = self.checker.verdict_reasons(hold_on_excursion=hold)
                reasons += self.cures.shortfalls()
                return await self._end(Verdict(not reasons, reasons, self._summary()))
            await self.clock.sleep(self.settings.poll_interval_s)

    def _lost(self, snap: OvenSnapshot) -> str | None:
        at = fmt_t(self._last_t) if self._last_t is not None else "start"
        if snap.run_id != self.run_id:
            return (
                f"the oven no longer carries run {self.run_id} (it reports run {snap.run_id}); "
                f"program lost after {at}: tool restarted or reset"
            )
        if snap.state is ProgramState.ABORTED:
            return f"program aborted at the tool after {at}"
        if snap.state is ProgramState.FAULT:
            return f"tool fault after {at} (alarm bits 0x{snap.alarm_bits:04x})"
        if snap.state is ProgramState.IDLE:
            return f"program lost after {at}: the oven is idle"
        return None

    def _tool_alarms(self, snap: OvenSnapshot) -> list[Event]:
        """The tool's own alarm bits, reported when they come on."""
        new = snap.alarm_bits & ~self._alarm_bits
        self._alarm_bits = snap.alarm_bits
        return [
            Event(
                "tool",
                f"tool_{flag.name.lower()}",
                f"oven reports {flag.name.lower().replace('_', ' ')} at "
                f"{fmt_t(snap.program_time_s)}",
                snap.program_time_s,
            )
            for flag in OvenAlarm
            if new & flag and flag.name
        ]

    async def _raise(self, ev: Event) -> None:
        log.warning("excursion", run_id=self.run_id, code=ev.code, message=ev.message)
        await self.recorder.alarm(self.run_id, ev.kind, ev.code, ev.message, ev.t_program)

    def _advance_cure(self, snap: OvenSnapshot, after_gap: bool) -> None:
        valid = [z for z in snap.zones_c if not math.isnan(z)]
        if valid:
            self.cures.advance(snap.program_time_s, sum(valid) / len(valid), after_gap)

    def _summary(self) -> dict[str, object]:
        assert self.checker is not None
        summary = self.checker.summary()
        if self.cures.inputs:
            alphas = [r.alpha_after for r in self.cures.records()]
            summary["alpha_min"] = round(min(alphas), 4)
            summary["alpha_max"] = round(max(alphas), 4)
        return summary

    async def _end(self, verdict: Verdict) -> Verdict:
        verdict = dataclasses.replace(verdict, cures=self.cures.records())
        await self.recorder.finish(self.run_id, verdict)
        log.info("run_finished", run_id=self.run_id, passed=verdict.passed, reasons=verdict.reasons)
        return verdict
