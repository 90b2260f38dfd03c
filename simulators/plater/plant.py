"""The whole plating tool without its network port: cells, rectifiers, bath, faults, alarms.

`PlaterPlant.advance(dt)` runs scans of `MAX_SCAN_S` of sim time (a second
when no cell plates), never across a step boundary of any plating cell, so
each step lasts exactly its time and a wafer's result does not depend on how
time was sliced. Each scan: arm scheduled faults, step the bath, then each
plating cell: ramp the set-point, lag the rectifier behind it, integrate the
true current into the wafer's charge (and the bath's amp-hours), move the
step sequencer on. The OPC UA server (server.py) only reads and commands this.

A cell: idle → loaded (LoadJob) → plating (Start) → done (after the last
step); Abort → aborted; a rectifier trip → fault; Reset → idle.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from drivers.plater import nodes
from simulators.errors import SimConfigError
from simulators.plater import model
from simulators.plater.faults import Fault, FaultKind, FaultSet

log = structlog.get_logger("simulators.plater")

MAX_SCAN_S = 0.1  # longest scan while a cell plates (the rectifier lag is 0.5 s)
MAX_IDLE_SCAN_S = 1.0  # longest scan otherwise (the bath's time constant is 60 s)
_EPSILON_S = 1e-6
WAFER_ID_MAX = 64  # longest wafer id LoadJob accepts


class CellState(enum.IntEnum):
    """A cell's state; values are nodes.CELL_STATES on the wire."""

    IDLE = 0
    LOADED = 1
    PLATING = 2
    DONE = 3
    FAULT = 4
    ABORTED = 5


class CommandRejectedError(Exception):
    """The plater refused a command; nothing changed."""


class InvalidArgumentError(CommandRejectedError):
    """A LoadJob argument outside its limit; the message names the argument and the limit."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


class InvalidStateError(CommandRejectedError):
    """The command is not allowed in the cell's present state."""


@dataclass(frozen=True, slots=True)
class PlatingJob:
    """A job as LoadJob carries it: one wafer, steps of (current A, duration s), a ramp (s)."""

    wafer_id: str
    run_id: int
    currents_a: tuple[float, ...]
    durations_s: tuple[float, ...]
    ramp_s: float = 0.0

    @property
    def total_s(self) -> float:
        return sum(self.durations_s)


def argument_errors(job: PlatingJob) -> list[InvalidArgumentError]:
    """Every LoadJob argument outside its limit (nodes.LIMITS), in argument order."""
    errors: list[InvalidArgumentError] = []
    if not 1 <= len(job.wafer_id) <= WAFER_ID_MAX or not job.wafer_id.isprintable():
        errors.append(
            InvalidArgumentError(
                "WaferId",
                f"WaferId must be 1..{WAFER_ID_MAX} printable characters, got {job.wafer_id!r}",
            )
        )
    if not 0 <= job.run_id <= 0xFFFF_FFFF:
        errors.append(
            InvalidArgumentError("RunId", f"RunId must be 0..4294967295, got {job.run_id}")
        )
    lo_n, hi_n = nodes.LIMITS["Steps"]
    if not lo_n <= len(job.currents_a) <= hi_n:
        errors.append(
            InvalidArgumentError(
                "Currents",
                f"Currents must have {lo_n:g}..{hi_n:g} steps, got {len(job.currents_a)}",
            )
        )
    else:
        errors += _each("Currents", "Current", job.currents_a, "A")
    if len(job.durations_s) != len(job.currents_a):
        errors.append(
            InvalidArgumentError(
                "Durations",
                f"Durations must have one entry per step ({len(job.currents_a)}), "
                f"got {len(job.durations_s)}",
            )
        )
    else:
        errors += _each("Durations", "Duration", job.durations_s, "s")
    lo, hi = nodes.LIMITS["RampS"]
    if not (math.isfinite(job.ramp_s) and lo <= job.ramp_s <= hi):
        errors.append(
            InvalidArgumentError("RampS", f"RampS must be {lo:g}..{hi:g} s, got {job.ramp_s:g} s")
        )
    return errors


def _each(
    argument: str, limit: str, values: tuple[float, ...], unit: str
) -> list[InvalidArgumentError]:
    lo, hi = nodes.LIMITS[limit]
    for i, value in enumerate(values):
        if not (math.isfinite(value) and lo <= value <= hi):
            return [
                InvalidArgumentError(
                    argument,
                    f"{argument}[{i}] must be {lo:g}..{hi:g} {unit}, got {value:g} {unit}",
                )
            ]
    return []


def check_job(job: PlatingJob) -> None:
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
    source: str  # "Plater.Bath" or "Plater.Cell<k>"

    @property
    def severity(self) -> int:
        return 700 if self.on else 100


@dataclass(frozen=True, slots=True)
class WaferTruth:
    """What really happened to one wafer: the simulator's truth, for tests."""

    wafer_id: str
    run_id: int
    cell: int
    completed: bool  # all steps ran (alarms or not)
    final_state: CellState
    alarm_bits: int  # the cell's alarms raised during the job
    job_time_s: float
    charge_c: float  # ∫ true current dt through the wafer
    eta: float  # charge-weighted current efficiency
    thickness_um: float  # Faraday on the true charge, η and the plated area


@dataclass(frozen=True, slots=True)
class CellReadings:
    """One cell's process image: what its OPC UA variables carry."""

    state: CellState
    wafer_id: str
    run_id: int
    step: int
    job_time_s: float
    current_setpoint_a: float
    current_a: float
    voltage_v: float
    alarm_bits: int


@dataclass(frozen=True, slots=True)
class BathReadings:
    temperature_c: float
    agitation_rpm: float
    amp_hours: float
    alarm_bits: int


@dataclass(frozen=True, slots=True)
class PlaterReadings:
    bath: BathReadings
    cells: tuple[CellReadings, ...]  # cells[0] is Cell1


class _Cell:
    """One cell's sequencer state and its rectifier (true values)."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.state = CellState.IDLE
        self.job: PlatingJob | None = None
        self.step = -1
        self.job_time_s = 0.0
        self.step_time_s = 0.0
        self.setpoint_a = 0.0
        self.output_a = 0.0  # what the rectifier drives
        self.true_a = 0.0  # what reaches the wafer
        self.voltage_v = 0.0
        self.alarm_bits = 0  # latched until Reset
        self.job_alarms = 0
        self.charge_c = 0.0
        self.eta_charge_c = 0.0
        self.measured_a = 0.0
        self.measured_v = 0.0

    @property
    def source(self) -> str:
        return nodes.cell_object(self.number)

    def step_left_s(self) -> float | None:
        if self.state is not CellState.PLATING or self.job is None:
            return None
        return self.job.durations_s[self.step] - self.step_time_s

    def rectifier_off(self) -> None:
        self.step = -1
        self.setpoint_a = self.output_a = self.true_a = self.voltage_v = 0.0
        self.measured_a = self.measured_v = 0.0


class PlaterPlant:
    """One plating tool: bath + cells + faults, stepped on sim time."""

    def __init__(
        self,
        params: model.PlaterParams | None = None,
        faults: Iterable[Fault] = (),
        seed: int = 0,
        *,
        cells: int = nodes.CELLS,
        amp_hours0: float = 0.0,
    ) -> None:
        if not 1 <= cells <= nodes.MAX_CELLS:
            raise SimConfigError(f"cells must be 1..{nodes.MAX_CELLS}, got {cells}")
        if not (math.isfinite(amp_hours0) and amp_hours0 >= 0):
            raise SimConfigError(f"amp_hours0 must be ≥ 0, got {amp_hours0}")
        self.params = params or model.PlaterParams()
        self.faults = FaultSet(faults, cells)
        self.cells = [_Cell(k) for k in range(1, cells + 1)]
        self.sim_time_s = 0.0
        self._pending_s = 0.0
        self.amp_hours = amp_hours0
        self.bath_c = self.params.bath_setpoint_c
        self.bath_alarm_bits = 0
        self._events: list[AlarmEvent] = []
        self._truth: dict[str, WaferTruth] = {}
        self._rng = random.Random(seed)
        self._bath_measured_c = self.bath_c
        self._agitation_measured = self.params.agitation_rpm
        self._measure_bath()

    # --- stepping -------------------------------------------------------------------

    @property
    def plating(self) -> bool:
        return any(c.state is CellState.PLATING for c in self.cells)

    @property
    def eta(self) -> float:
        """Current efficiency of the bath now."""
        return model.efficiency(self.params, self.amp_hours)

    def advance(self, dt: float) -> None:
        """Run `dt` seconds of sim time in fixed scans, cut short only at a step boundary."""
        self._pending_s += dt
        while True:
            h = MAX_SCAN_S if self.plating else MAX_IDLE_SCAN_S
            for cell in self.cells:
                left = cell.step_left_s()
                if left is not None:
                    h = min(h, max(left, _EPSILON_S))
            if self._pending_s < h - 1e-9:
                return
            self._scan(h)
            self._pending_s -= h

    def _scan(self, dt: float) -> None:
        for fault in self.faults.update_bath(self.sim_time_s):
            log.warning("fault active", fault=str(fault), tool_time_s=round(self.sim_time_s, 1))
        self._step_bath(dt)
        for cell in self.cells:
            if cell.state is CellState.PLATING:
                self._step_cell(cell, dt)
        self.sim_time_s += dt

    def _step_bath(self, dt: float) -> None:
        p = self.params
        hot = self.faults.bath_active(FaultKind.BATH_OVERTEMP)
        target = p.bath_overtemp_c if hot else p.bath_setpoint_c
        self.bath_c = model.lag(self.bath_c, target, p.bath_tau_s, dt)
        self._measure_bath()
        bit = nodes.ALARM_BATH_OVERTEMP
        if self.bath_c > p.bath_alarm_c and not self.bath_alarm_bits & bit:
            self.bath_alarm_bits |= bit
            self._event(
                bit, True, f"bath at {self.bath_c:.1f} °C, limit {p.bath_alarm_c:g} °C", "Bath"
            )
        elif self.bath_c < p.bath_alarm_clear_c and self.bath_alarm_bits & bit:
            self.bath_alarm_bits &= ~bit
            self._event(bit, False, f"bath back at {self.bath_c:.1f} °C", "Bath")

    def _measure_bath(self) -> None:
        p = self.params
        self._bath_measured_c = self.bath_c + self._rng.gauss(0.0, p.bath_noise_c)
        self._agitation_measured = p.agitation_rpm + self._rng.gauss(0.0, p.agitation_noise_rpm)

    def _step_cell(self, cell: _Cell, dt: float) -> None:
        p = self.params
        job = cell.job
        assert job is not None
        for fault in self.faults.update_cell(cell.number, cell.job_time_s):
            log.warning(
                "fault active", fault=str(fault), cell=cell.number, job_time_s=cell.job_time_s
            )
        if self.faults.cell_active(FaultKind.RECTIFIER_TRIP, cell.number):
            self._raise(cell, nodes.ALARM_RECTIFIER_TRIP, "current 0, cell stopped")
            self._finish(cell, CellState.FAULT)
            return
        open_contact = self.faults.cell_active(FaultKind.CONTACT, cell.number)
        if open_contact:
            self._raise(cell, nodes.ALARM_CONTACT, "wafer contact open, voltage at compliance")
        previous = job.currents_a[cell.step - 1] if cell.step > 0 else 0.0
        target = job.currents_a[cell.step]
        # The set-point at the middle of the scan drives the rectifier through it.
        drive = model.ramped_setpoint(previous, target, job.ramp_s, cell.step_time_s + dt / 2)
        cell.output_a = model.lag(cell.output_a, drive, p.rectifier_tau_s, dt)
        before = cell.true_a
        cell.true_a = cell.output_a * (p.contact_share if open_contact else 1.0)
        dq = 0.5 * (before + cell.true_a) * dt
        cell.charge_c += dq
        cell.eta_charge_c += self.eta * dq
        self.amp_hours += dq / 3600.0
        cell.voltage_v = model.cell_voltage(p, cell.true_a, open_contact=open_contact)
        cell.job_time_s += dt
        cell.step_time_s += dt
        cell.setpoint_a = model.ramped_setpoint(previous, target, job.ramp_s, cell.step_time_s)
        cell.measured_a = model.measure_current(p, cell.true_a, self._rng)
        cell.measured_v = model.measure_voltage(p, cell.voltage_v, self._rng)
        left = cell.step_left_s()
        if left is not None and left <= _EPSILON_S:
            if cell.step + 1 < len(job.currents_a):
                cell.step += 1
                cell.step_time_s = 0.0
                cell.setpoint_a = model.ramped_setpoint(
                    target, job.currents_a[cell.step], job.ramp_s, 0.0
                )
                log.info(
                    "step started", cell=cell.number, step=cell.step, job_time_s=cell.job_time_s
                )
            else:
                self._finish(cell, CellState.DONE)

    def _finish(self, cell: _Cell, state: CellState) -> None:
        """End the plating of the wafer in `cell`: record its truth, switch the rectifier off."""
        job = cell.job
        assert job is not None
        eta = cell.eta_charge_c / cell.charge_c if cell.charge_c > 0 else self.eta
        truth = WaferTruth(
            wafer_id=job.wafer_id,
            run_id=job.run_id,
            cell=cell.number,
            completed=state is CellState.DONE,
            final_state=state,
            alarm_bits=cell.job_alarms,
            job_time_s=cell.job_time_s,
            charge_c=cell.charge_c,
            eta=eta,
            thickness_um=model.thickness_um(cell.charge_c, eta, self.params.plated_area_dm2),
        )
        self._truth[job.wafer_id] = truth
        cell.state = state
        cell.rectifier_off()
        log.info(
            "wafer finished",
            cell=cell.number,
            wafer=job.wafer_id,
            state=state.name.lower(),
            charge_c=round(truth.charge_c, 1),
            thickness_um=round(truth.thickness_um, 3),
        )

    # --- alarms ---------------------------------------------------------------------------

    def _raise(self, cell: _Cell, bit: int, detail: str) -> None:
        """Latch cell alarm `bit` (one event on its rising edge)."""
        cell.job_alarms |= bit
        if not cell.alarm_bits & bit:
            cell.alarm_bits |= bit
            self._event(bit, True, f"cell {cell.number}: {detail}", f"Cell{cell.number}")

    def _event(self, bit: int, on: bool, detail: str, where: str) -> None:
        name = nodes.ALARM_NAMES[bit]
        message = f"{name}: {detail}" if on else f"{name} cleared: {detail}"
        self._events.append(AlarmEvent(bit, on, message, f"{nodes.ROOT}.{where}"))
        if on:
            log.warning("alarm", alarm=name, detail=detail)
        else:
            log.info("alarm cleared", alarm=name, detail=detail)

    def drain_events(self) -> list[AlarmEvent]:
        """Alarm events since the last call, oldest first (the server sends them)."""
        events, self._events = self._events, []
        return events

    # --- commands (the OPC UA methods) ----------------------------------------------------

    def cell(self, number: int) -> _Cell:
        if not 1 <= number <= len(self.cells):
            raise InvalidArgumentError("cell", f"cell must be 1..{len(self.cells)}, got {number}")
        return self.cells[number - 1]

    def load_job(self, number: int, job: PlatingJob) -> None:
        """LoadJob: check every argument, then load the wafer's job (refused while plating)."""
        cell = self.cell(number)
        if cell.state is CellState.PLATING:
            raise InvalidStateError(f"cell {number} is plating; abort it before loading another")
        if cell.state is CellState.FAULT:
            raise InvalidStateError(f"cell {number} is in fault; call Reset first")
        check_job(job)
        cell.job = job
        cell.state = CellState.LOADED
        cell.job_time_s = cell.step_time_s = 0.0
        cell.charge_c = cell.eta_charge_c = 0.0
        cell.job_alarms = 0
        cell.rectifier_off()
        log.info("job loaded", cell=number, wafer=job.wafer_id, run_id=job.run_id)

    def start(self, number: int) -> None:
        """Start: plate the loaded wafer."""
        cell = self.cell(number)
        if cell.state is not CellState.LOADED:
            name = nodes.CELL_STATES[int(cell.state)]
            raise InvalidStateError(f"cell {number} is {name}; Start needs a loaded job")
        assert cell.job is not None
        cell.state = CellState.PLATING
        cell.step = 0
        cell.job_time_s = cell.step_time_s = 0.0
        cell.setpoint_a = model.ramped_setpoint(0.0, cell.job.currents_a[0], cell.job.ramp_s, 0.0)
        log.info("plating started", cell=number, wafer=cell.job.wafer_id, run_id=cell.job.run_id)

    def abort(self, number: int) -> None:
        """Abort: stop a plating cell (the wafer's truth is kept); a no-op otherwise."""
        cell = self.cell(number)
        if cell.state is CellState.PLATING:
            self._finish(cell, CellState.ABORTED)
            log.warning("plating aborted", cell=number, job_time_s=round(cell.job_time_s, 1))

    def reset(self, number: int) -> None:
        """Reset: clear the cell's job and latched alarms (refused while plating)."""
        cell = self.cell(number)
        if cell.state is CellState.PLATING:
            raise InvalidStateError(f"cell {number} is plating; abort it before reset")
        for bit in nodes.ALARM_NAMES:
            if cell.alarm_bits & bit:
                self._event(bit, False, f"cell {number} reset", f"Cell{number}")
        cell.alarm_bits = 0
        cell.job = None
        cell.state = CellState.IDLE
        cell.job_time_s = cell.step_time_s = 0.0
        cell.rectifier_off()
        log.info("cell reset", cell=number)

    # --- faults ---------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)
        log.warning("fault injected", fault=str(fault))

    def clear(self, kind: FaultKind | str | None = None) -> list[Fault]:
        """Remove faults; latched cell alarms stay until Reset."""
        gone = self.faults.clear(kind)
        for fault in gone:
            log.info("fault cleared", fault=str(fault))
        return gone

    # --- what the instruments show, and the truth ------------------------------------------

    def readings(self) -> PlaterReadings:
        bath = BathReadings(
            temperature_c=self._bath_measured_c,
            agitation_rpm=self._agitation_measured,
            amp_hours=self.amp_hours,
            alarm_bits=self.bath_alarm_bits,
        )
        cells = tuple(
            CellReadings(
                state=c.state,
                wafer_id=c.job.wafer_id if c.job else "",
                run_id=c.job.run_id if c.job else 0,
                step=c.step,
                job_time_s=c.job_time_s,
                current_setpoint_a=c.setpoint_a,
                current_a=c.measured_a,
                voltage_v=c.measured_v,
                alarm_bits=c.alarm_bits,
            )
            for c in self.cells
        )
        return PlaterReadings(bath, cells)

    def wafer_truth(self, wafer_id: str) -> WaferTruth:
        """The truth of the last plating of `wafer_id` (done, aborted, fault); KeyError if none."""
        return self._truth[wafer_id]

    def true_current(self, number: int) -> float:
        """The current really reaching the wafer in cell `number` now (A)."""
        return self.cell(number).true_a
