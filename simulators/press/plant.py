"""The whole press without its network port: physics, job and cycle sequencer, faults, alarms.

`PressPlant.advance(dt)` runs scans of `MAX_SCAN_S` of sim time (a second
when no cycle runs), never across a stage boundary, so each stage lasts
exactly its time and a cycle's result does not depend on how time was
sliced. Each scan: arm scheduled faults, derive the stage's inputs, step the
physics, run the press's own checks (heater, pressure, fill), move the
sequencer on. The OPC UA server (server.py) only reads and
commands this.

The cycle (one wafer): idle → clamp (CLAMP_S) → fill (FillTime) → cure
(CureTime) → open (OPEN_S) → the next cycle, until Cycles are done. The EMC
charge enters the cavity when fill starts and cures until the mold opens.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

from drivers.molding_press import nodes
from simulators.physics import emc
from simulators.press import model
from simulators.press.faults import Fault, FaultEffects, FaultKind, FaultSet

log = structlog.get_logger("simulators.press")

MAX_SCAN_S = 0.1  # longest scan while a cycle runs (hydraulic time constants are 0.2–0.5 s)
MAX_IDLE_SCAN_S = 1.0  # longest scan otherwise (the platen loop's time constant is ≈ 20 s)
_EPSILON_S = 1e-6

CLAMP_S = 5.0  # mold closing and clamp force build-up
OPEN_S = 5.0  # clamp release, ram retract, mold opening, part out
READY_BAND_C = 3.0  # both platens within ± this of the set-point: ready to produce
HISTORY_STEP_S = 1.0  # EMC temperature history: one sample per second of cure
NAME_MAX = 64  # longest job name LoadJob accepts

# Fault magnitudes.
SHORT_FILL_STROKE = 0.7 * nodes.FULL_STROKE_MM  # the ram stops here in a short-fill cycle
PRESSURE_LOSS_AT = 0.3  # share of FillTime after which the pressure collapses
PRESSURE_LOSS_LEFT = 0.1  # share of the set-point the hydraulics still deliver
# The press's own checks.
FULL_STROKE_OK = 0.98 * nodes.FULL_STROKE_MM  # end of fill below this: short fill
PRESSURE_REACHED = 0.9  # share of the set-point that counts as "pressure built"
PRESSURE_LOST = 0.5  # below this share once built: pressure loss


class JobStatus(enum.IntEnum):
    """EUROMAP 83 style job status; values are nodes.JOB_STATUSES on the wire."""

    NO_JOB = 0
    SET_UP = 1
    IN_PRODUCTION = 2
    INTERRUPTED = 3
    FINISHED = 4


class ProductionStatus(enum.IntEnum):
    """EUROMAP 83 style production status; values are nodes.PRODUCTION_STATUSES."""

    NO_PRODUCTION = 0
    START_UP = 1
    READY = 2
    PRODUCTION = 3


class CycleState(enum.IntEnum):
    """Stage of the molding cycle; values are nodes.CYCLE_STATES."""

    IDLE = 0
    CLAMP = 1
    FILL = 2
    CURE = 3
    OPEN = 4


class CommandRejectedError(Exception):
    """The press refused a command; nothing changed."""


class InvalidArgumentError(CommandRejectedError):
    """A LoadJob argument outside its limit; the message names the argument and the limit."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


class InvalidStateError(CommandRejectedError):
    """The command is not allowed in the press's present state."""


@dataclass(frozen=True, slots=True)
class PressJob:
    """A job as LoadJob carries it: one cycle per wafer (units: °C, kN, MPa, s)."""

    name: str
    run_id: int
    mold_temp_c: float
    clamp_force_kn: float
    transfer_pressure_mpa: float
    fill_time_s: float
    cure_time_s: float
    cycles: int

    def arguments(self) -> dict[str, object]:
        """The job as LoadJob's named arguments, in order."""
        return {
            "Name": self.name,
            "RunId": self.run_id,
            "MoldTemperature": self.mold_temp_c,
            "ClampForce": self.clamp_force_kn,
            "TransferPressure": self.transfer_pressure_mpa,
            "FillTime": self.fill_time_s,
            "CureTime": self.cure_time_s,
            "Cycles": self.cycles,
        }


_UNITS = {
    "MoldTemperature": " °C",
    "ClampForce": " kN",
    "TransferPressure": " MPa",
    "FillTime": " s",
    "CureTime": " s",
    "Cycles": "",
}


def argument_errors(job: PressJob) -> list[InvalidArgumentError]:
    """Every LoadJob argument outside its limit (nodes.LIMITS), in argument order."""
    errors: list[InvalidArgumentError] = []
    if not 1 <= len(job.name) <= NAME_MAX or not job.name.isprintable():
        errors.append(
            InvalidArgumentError(
                "Name", f"Name must be 1..{NAME_MAX} printable characters, got {job.name!r}"
            )
        )
    if not 0 <= job.run_id <= 0xFFFF_FFFF:
        errors.append(
            InvalidArgumentError("RunId", f"RunId must be 0..4294967295, got {job.run_id}")
        )
    for arg, value in job.arguments().items():
        if arg not in nodes.LIMITS:
            continue
        lo, hi = nodes.LIMITS[arg]
        assert isinstance(value, int | float)
        if not (math.isfinite(value) and lo <= value <= hi):
            unit = _UNITS[arg]
            errors.append(
                InvalidArgumentError(
                    arg, f"{arg} must be {lo:g}..{hi:g}{unit}, got {value:g}{unit}"
                )
            )
    return errors


def check_job(job: PressJob) -> None:
    """Raise InvalidArgumentError for the first argument outside its limit."""
    errors = argument_errors(job)
    if errors:
        raise errors[0]


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """An alarm coming on or going off: what the server sends as an OPC UA event."""

    bit: int
    on: bool
    message: str  # begins with nodes.ALARM_NAMES[bit]

    @property
    def severity(self) -> int:
        return 700 if self.on else 100


@dataclass(frozen=True, slots=True)
class CycleTruth:
    """What really happened to one wafer: the simulator's truth, for tests."""

    cycle: int  # 1-based
    completed: bool  # False: the job was aborted during this cycle
    good: bool  # completed without an alarm
    alarm_bits: int  # alarms raised (or standing) during the cycle
    start_job_time_s: float
    end_job_time_s: float
    fill_start_job_time_s: float | None  # None: aborted before fill
    ram_end_of_fill_mm: float | None
    alpha_end: float  # EMC degree of cure when the mold opened
    tg_end_c: float  # its glass transition temperature (DiBenedetto)
    emc_history: tuple[tuple[float, float], ...]  # (s since fill start, EMC °C), every 1 s


@dataclass
class _CycleLog:
    cycle: int
    start_job_time_s: float
    alarm_bits: int = 0
    fill_start_job_time_s: float | None = None
    ram_end_of_fill_mm: float | None = None
    pressure_built: bool = False
    alpha_end: float | None = None
    history: list[tuple[float, float]] = field(default_factory=list)
    next_sample_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PressReadings:
    """The process image: what the OPC UA variables carry."""

    job_status: JobStatus
    production_status: ProductionStatus
    cycle_state: CycleState
    alarm_bits: int
    run_id: int
    cycle_time_s: float
    job_time_s: float
    current_cycle: int
    cycles: int
    good_cycles: int
    bad_cycles: int
    last_cycle_time_s: float
    platen_top_c: float
    platen_bottom_c: float
    clamp_force_kn: float
    transfer_pressure_mpa: float
    ram_position_mm: float
    job: PressJob | None


class PressPlant:
    """One molding press: model + sequencer + faults, stepped on sim time."""

    def __init__(
        self, params: model.PressParams | None = None, faults: Iterable[Fault] = (), seed: int = 0
    ) -> None:
        self.params = params or model.PressParams()
        self.state = model.initial_state(self.params)
        self.faults = FaultSet(faults)
        self.sim_time_s = 0.0
        self._pending_s = 0.0  # sim time received but not yet scanned (< one scan)
        self.job: PressJob | None = None
        self.job_status = JobStatus.NO_JOB
        self.cycle_state = CycleState.IDLE
        self.run_id = 0
        self.job_time_s = 0.0
        self.cycle_time_s = 0.0
        self.stage_time_s = 0.0
        self.current_cycle = 0
        self.cycles = self.good_cycles = self.bad_cycles = 0
        self.last_cycle_time_s = 0.0
        self.alarm_bits = 0  # latched until Reset
        self._events: list[AlarmEvent] = []
        self._records: list[CycleTruth] = []
        self._log: _CycleLog | None = None
        self._rng = random.Random(seed)
        self._effects = self.faults.effects(0)
        self._instruments = model.read_instruments(self.params, self.state, self._rng)
        self._check_heaters()

    # --- stepping -------------------------------------------------------------------

    @property
    def producing(self) -> bool:
        return self.job_status is JobStatus.IN_PRODUCTION

    @property
    def cycling(self) -> bool:
        return self.cycle_state is not CycleState.IDLE

    def advance(self, dt: float) -> None:
        """Run `dt` seconds of sim time.

        Scans have a fixed length (MAX_SCAN_S in a cycle, MAX_IDLE_SCAN_S
        otherwise), cut short only at a stage boundary; time short of a whole
        scan waits for the next call. So a cycle's physics, and the α it
        ends with, do not depend on how the caller slices time.
        """
        self._pending_s += dt
        while True:
            h = MAX_SCAN_S if self.cycling else MAX_IDLE_SCAN_S
            left = self._stage_left_s()
            if left is not None:
                h = min(h, max(left, _EPSILON_S))
            if self._pending_s < h - 1e-9:
                return
            self._scan(h)
            self._pending_s -= h

    def _scan(self, dt: float) -> None:
        if self.producing:
            for fault in self.faults.update(self.job_time_s):
                log.warning("fault active", fault=str(fault), job_time_s=round(self.job_time_s, 1))
        self._effects = fx = self.faults.effects(self.current_cycle if self.cycling else 0)
        self.state = model.step(self.params, self.state, self._inputs(fx), dt)
        self.sim_time_s += dt
        if self.producing:
            self.job_time_s += dt
        if self.cycling:
            self.cycle_time_s += dt
            self.stage_time_s += dt
        self._instruments = model.read_instruments(self.params, self.state, self._rng)
        self._sample_history()
        self._check_heaters()
        self._check_pressure()
        left = self._stage_left_s()
        if left is not None and left <= _EPSILON_S:
            self._next_stage()
        if self.producing and not self.cycling and self.current_cycle == 0 and self.platens_ready:
            self._begin_cycle(1)

    def _stage_duration_s(self) -> float | None:
        job = self.job
        if job is None or not self.cycling:
            return None
        return {
            CycleState.CLAMP: CLAMP_S,
            CycleState.FILL: job.fill_time_s,
            CycleState.CURE: job.cure_time_s,
            CycleState.OPEN: OPEN_S,
        }[self.cycle_state]

    def _stage_left_s(self) -> float | None:
        duration = self._stage_duration_s()
        return None if duration is None else duration - self.stage_time_s

    def _inputs(self, fx: FaultEffects) -> model.PressInputs:
        """The physics' inputs in the present stage (the press's valves and heaters)."""
        job = self.job
        sp = job.mold_temp_c if job is not None else self.params.standby_c
        stage = self.cycle_state
        if job is None or stage in (CycleState.IDLE, CycleState.OPEN):
            return model.PressInputs(setpoint_c=sp, failed_heaters=fx.failed_heaters)
        in_cavity = stage in (CycleState.FILL, CycleState.CURE)
        collapsed = fx.pressure_loss and (
            stage is CycleState.CURE
            or self.stage_time_s >= PRESSURE_LOSS_AT * job.fill_time_s - _EPSILON_S
        )
        return model.PressInputs(
            setpoint_c=sp,
            failed_heaters=fx.failed_heaters,
            mold_closed=True,
            clamp_kn=job.clamp_force_kn,
            pressure_mpa=job.transfer_pressure_mpa if in_cavity else 0.0,
            pressure_available=PRESSURE_LOSS_LEFT if collapsed else 1.0,
            ram=model.RamCommand.ADVANCE if stage is CycleState.FILL else model.RamCommand.HOLD,
            ram_speed_mm_per_s=nodes.FULL_STROKE_MM
            / (self.params.fill_stroke_share * job.fill_time_s),
            ram_limit_mm=SHORT_FILL_STROKE if fx.short_fill else nodes.FULL_STROKE_MM,
            emc_in_cavity=in_cavity,
        )

    @property
    def platens_ready(self) -> bool:
        """Both platens (true temperatures) within ±READY_BAND_C of the set-point."""
        sp = self.job.mold_temp_c if self.job is not None else self.params.standby_c
        return all(abs(t - sp) <= READY_BAND_C for t in self.state.platen_c)

    # --- sequencer -----------------------------------------------------------------------

    def _begin_cycle(self, cycle: int) -> None:
        self.current_cycle = cycle
        self.cycle_state = CycleState.CLAMP
        self.cycle_time_s = self.stage_time_s = 0.0
        self._log = _CycleLog(cycle=cycle, start_job_time_s=self.job_time_s)
        self._check_heaters()  # a dead heater marks the cycle from its first instant
        log.info("cycle started", cycle=cycle, job_time_s=round(self.job_time_s, 1))

    def _next_stage(self) -> None:
        stage = self.cycle_state
        self.stage_time_s = 0.0
        cycle_log = self._log
        assert cycle_log is not None
        if stage is CycleState.CLAMP:
            self.cycle_state = CycleState.FILL
            self.state = model.charge(self.params, self.state)
            cycle_log.fill_start_job_time_s = self.job_time_s
            cycle_log.history.append((0.0, self.state.emc_c))
            cycle_log.next_sample_s = HISTORY_STEP_S
        elif stage is CycleState.FILL:
            self._end_of_fill(cycle_log)
            self.cycle_state = CycleState.CURE
        elif stage is CycleState.CURE:
            cycle_log.alpha_end = self.state.alpha
            self._record_emc(cycle_log, final=True)
            self.cycle_state = CycleState.OPEN
        elif stage is CycleState.OPEN:
            self._end_cycle(cycle_log)

    def _end_of_fill(self, cycle_log: _CycleLog) -> None:
        """The press's fill checks: full stroke reached, pressure built."""
        job = self.job
        assert job is not None
        cycle_log.ram_end_of_fill_mm = self.state.ram_mm
        if self.state.ram_mm < FULL_STROKE_OK:
            self._raise(
                nodes.ALARM_SHORT_FILL,
                f"ram stopped at {self.state.ram_mm:.1f} of {nodes.FULL_STROKE_MM:g} mm "
                f"(cycle {self.current_cycle})",
            )
        if job.transfer_pressure_mpa > 0 and not cycle_log.pressure_built:
            self._raise(
                nodes.ALARM_PRESSURE_LOSS,
                f"transfer pressure never reached {PRESSURE_REACHED:.0%} of "
                f"{job.transfer_pressure_mpa:g} MPa (cycle {self.current_cycle})",
            )

    def _end_cycle(self, cycle_log: _CycleLog) -> None:
        job = self.job
        assert job is not None
        record = self._record(cycle_log, completed=True)
        self.cycles += 1
        if record.good:
            self.good_cycles += 1
        else:
            self.bad_cycles += 1
        self.last_cycle_time_s = self.cycle_time_s
        log.info(
            "cycle complete",
            cycle=cycle_log.cycle,
            good=record.good,
            alpha=round(record.alpha_end, 4),
            cycle_time_s=round(self.cycle_time_s, 1),
        )
        if cycle_log.cycle >= job.cycles:
            self._stop(JobStatus.FINISHED)
            log.info(
                "job finished",
                job=job.name,
                run_id=job.run_id,
                cycles=self.cycles,
                good=self.good_cycles,
                bad=self.bad_cycles,
            )
        else:
            self._begin_cycle(cycle_log.cycle + 1)

    def _record(self, cycle_log: _CycleLog, *, completed: bool) -> CycleTruth:
        alpha = cycle_log.alpha_end
        if alpha is None:  # aborted before the mold opened: the charge stops curing now
            alpha = self.state.alpha if cycle_log.fill_start_job_time_s is not None else 0.0
            if cycle_log.fill_start_job_time_s is not None:
                self._record_emc(cycle_log, final=True)
        record = CycleTruth(
            cycle=cycle_log.cycle,
            completed=completed,
            good=completed and cycle_log.alarm_bits == 0,
            alarm_bits=cycle_log.alarm_bits,
            start_job_time_s=cycle_log.start_job_time_s,
            end_job_time_s=self.job_time_s,
            fill_start_job_time_s=cycle_log.fill_start_job_time_s,
            ram_end_of_fill_mm=cycle_log.ram_end_of_fill_mm,
            alpha_end=alpha,
            tg_end_c=emc.glass_transition_c(self.params.emc, alpha),
            emc_history=tuple(cycle_log.history),
        )
        self._records.append(record)
        return record

    def _stop(self, status: JobStatus) -> None:
        self.job_status = status
        self.cycle_state = CycleState.IDLE
        self.current_cycle = 0
        self.cycle_time_s = self.stage_time_s = 0.0
        self._log = None

    def _sample_history(self) -> None:
        cycle_log = self._log
        if cycle_log is not None and self.cycle_state in (CycleState.FILL, CycleState.CURE):
            self._record_emc(cycle_log, final=False)

    def _record_emc(self, cycle_log: _CycleLog, *, final: bool) -> None:
        """Append (s since fill start, EMC °C) on the 1-s grid, and the final instant."""
        assert cycle_log.fill_start_job_time_s is not None
        since = self.job_time_s - cycle_log.fill_start_job_time_s
        if final or since >= cycle_log.next_sample_s - _EPSILON_S:
            if not cycle_log.history or since > cycle_log.history[-1][0] + _EPSILON_S:
                cycle_log.history.append((since, self.state.emc_c))
            while cycle_log.next_sample_s <= since + _EPSILON_S:
                cycle_log.next_sample_s += HISTORY_STEP_S

    # --- the press's own checks and its alarms ------------------------------------------

    def _check_heaters(self) -> None:
        failed = self._effects.failed_heaters
        if failed:
            sides = " and ".join(n for n, i in model.SIDES.items() if i in failed)
            self._raise(nodes.ALARM_PLATEN_HEATER, f"{sides} platen heater gives no power")

    def _check_pressure(self) -> None:
        job, cycle_log = self.job, self._log
        if job is None or cycle_log is None or job.transfer_pressure_mpa <= 0:
            return
        if self.cycle_state not in (CycleState.FILL, CycleState.CURE):
            return
        p = self._instruments.pressure_mpa
        if p >= PRESSURE_REACHED * job.transfer_pressure_mpa:
            cycle_log.pressure_built = True
        elif cycle_log.pressure_built and p < PRESSURE_LOST * job.transfer_pressure_mpa:
            self._raise(
                nodes.ALARM_PRESSURE_LOSS,
                f"transfer pressure fell to {p:.2f} of {job.transfer_pressure_mpa:g} MPa "
                f"(cycle {self.current_cycle})",
            )

    def _raise(self, bit: int, detail: str) -> None:
        """Latch alarm `bit` (one event on its rising edge) and mark the running cycle bad."""
        if self._log is not None:
            self._log.alarm_bits |= bit
        if not self.alarm_bits & bit:
            self.alarm_bits |= bit
            event = AlarmEvent(bit, True, f"{nodes.ALARM_NAMES[bit]}: {detail}")
            self._events.append(event)
            log.warning("alarm", alarm=nodes.ALARM_NAMES[bit], detail=detail)

    def drain_events(self) -> list[AlarmEvent]:
        """Alarm events since the last call, oldest first (the server sends them)."""
        events, self._events = self._events, []
        return events

    # --- commands (the OPC UA methods) ----------------------------------------------------

    def load_job(self, job: PressJob) -> None:
        """LoadJob: check every argument, then replace the job (refused in production)."""
        if self.producing:
            raise InvalidStateError("a job is in production; abort it before loading another")
        check_job(job)
        self.job = job
        self.run_id = job.run_id
        self.job_time_s = 0.0
        self.cycles = self.good_cycles = self.bad_cycles = 0
        self.last_cycle_time_s = 0.0
        self._records.clear()
        self._stop(JobStatus.SET_UP)
        log.info("job loaded", job=job.name, run_id=job.run_id, cycles=job.cycles)

    def start(self) -> None:
        """Start: run the loaded job (cycle 1 begins once both platens are at temperature)."""
        if self.job_status is JobStatus.NO_JOB:
            raise InvalidStateError("no job loaded; call LoadJob first")
        if self.producing:
            raise InvalidStateError("the job is already in production")
        if self.job_status is not JobStatus.SET_UP:
            name = nodes.JOB_STATUSES[self.job_status]
            raise InvalidStateError(f"the job is {name}; call LoadJob (or Reset) first")
        self.job_status = JobStatus.IN_PRODUCTION
        self.job_time_s = 0.0
        log.info("job started", job=self.job.name if self.job else None, run_id=self.run_id)
        if self.platens_ready:
            self._begin_cycle(1)

    def abort(self) -> None:
        """Abort: interrupt a job in production (the running cycle is not counted); else no-op."""
        if not self.producing:
            return
        if self._log is not None:
            self._record(self._log, completed=False)
        cycle = self.current_cycle
        self._stop(JobStatus.INTERRUPTED)
        log.warning("job aborted", run_id=self.run_id, cycle=cycle, job_time_s=self.job_time_s)

    def reset(self) -> None:
        """Reset: clear a job that is not in production, its counters and the latched alarms."""
        if self.producing:
            raise InvalidStateError("a job is in production; abort it before reset")
        self.job = None
        self.run_id = 0
        self.job_time_s = 0.0
        self.cycles = self.good_cycles = self.bad_cycles = 0
        self.last_cycle_time_s = 0.0
        self._records.clear()
        self._stop(JobStatus.NO_JOB)
        for bit, name in nodes.ALARM_NAMES.items():
            if self.alarm_bits & bit:
                self._events.append(AlarmEvent(bit, False, f"{name} cleared"))
        self.alarm_bits = 0
        self._check_heaters()  # a heater still dead raises its alarm again at once
        log.info("press reset")

    # --- faults ---------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)
        self._effects = self.faults.effects(self.current_cycle if self.cycling else 0)
        self._check_heaters()
        log.warning("fault injected", fault=str(fault))

    def clear(self, kind: FaultKind | str | None = None) -> list[Fault]:
        """Remove faults; latched alarms stay until Reset."""
        gone = self.faults.clear(kind)
        self._effects = self.faults.effects(self.current_cycle if self.cycling else 0)
        for fault in gone:
            log.info("fault cleared", fault=str(fault))
        return gone

    # --- what the instruments show, and the truth ------------------------------------------

    @property
    def production_status(self) -> ProductionStatus:
        if self.job is None:
            return ProductionStatus.NO_PRODUCTION
        if self.producing and self.cycling:
            return ProductionStatus.PRODUCTION
        return ProductionStatus.READY if self.platens_ready else ProductionStatus.START_UP

    def readings(self) -> PressReadings:
        ins = self._instruments
        return PressReadings(
            job_status=self.job_status,
            production_status=self.production_status,
            cycle_state=self.cycle_state,
            alarm_bits=self.alarm_bits,
            run_id=self.run_id,
            cycle_time_s=self.cycle_time_s,
            job_time_s=self.job_time_s,
            current_cycle=self.current_cycle,
            cycles=self.cycles,
            good_cycles=self.good_cycles,
            bad_cycles=self.bad_cycles,
            last_cycle_time_s=self.last_cycle_time_s,
            platen_top_c=ins.platen_top_c,
            platen_bottom_c=ins.platen_bottom_c,
            clamp_force_kn=ins.clamp_kn,
            transfer_pressure_mpa=ins.pressure_mpa,
            ram_position_mm=ins.ram_mm,
            job=self.job,
        )

    def cycle_truth(self) -> tuple[CycleTruth, ...]:
        """The truth of each cycle of the present (or last) job, completed or aborted."""
        return tuple(self._records)
