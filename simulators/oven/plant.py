"""The whole oven without its network port: physics, program controller, faults, alarms.

`OvenPlant.advance(dt)` runs controller scans of at most `MAX_SCAN_S` of sim
time. Each scan: arm/fire scheduled faults, advance the program, step the
physics at the program's setpoint, check the over-temperature limit, read the
thermocouples. The Modbus server (server.py) only reads and commands this.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import structlog

from drivers.cure_oven import registers as reg
from simulators.errors import SimConfigError
from simulators.oven import model
from simulators.oven.faults import Fault, FaultEffects, FaultKind, FaultSet
from simulators.oven.program import (
    ControllerBusyError,
    InvalidProgramError,
    ProgramController,
    ProgramSegment,
    ProgramState,
)
from simulators.physics import emc

log = structlog.get_logger("simulators.oven")

MAX_SCAN_S = 1.0  # longest controller scan in sim seconds (keeps explicit Euler accurate)


@dataclass(frozen=True, slots=True)
class OvenReadings:
    """The process image in engineering units: what the input registers carry."""

    program_state: ProgramState
    segment_index: int
    program_time_s: float
    setpoint_c: float  # 0.0 while no program runs (zone loops off)
    o2_ppm: float
    n2_flow_lpm: float
    door_open: bool
    alarm_bits: int
    heartbeat: int
    heater_fault_mask: int
    tc_open_mask: int
    zones_c: tuple[float, ...]  # NaN for an open thermocouple
    heater_pct: tuple[float, ...]


class OvenPlant:
    """One cure oven: model + program controller + faults, stepped on sim time."""

    def __init__(
        self, params: model.OvenParams | None = None, faults: Iterable[Fault] = (), seed: int = 0
    ) -> None:
        self.params = params or model.OvenParams()
        if not 1 <= self.params.zones <= reg.MAX_ZONES:
            raise SimConfigError(f"zones must be 1..{reg.MAX_ZONES}, got {self.params.zones}")
        self.state = model.initial_state(self.params)
        self.program = ProgramController()
        self.faults = FaultSet(self.params.zones, faults)
        self.n2_setpoint_lpm = self.params.n2_setpoint_lpm
        self.heartbeat = 0
        self.sim_time_s = 0.0
        self._rng = random.Random(seed)
        self._overtemp = False
        self._effects = self.faults.effects()
        self._zones_c = model.read_thermocouples(
            self.params, self.state, self._effects.open_tcs, self._rng
        )
        self.emc_params: emc.EmcParams | None = None  # set by load_emc: wafers in the chamber
        self.load_alpha: float | None = None

    # --- stepping ---------------------------------------------------------------

    def advance(self, dt: float) -> None:
        """Run `dt` seconds of sim time in scans of at most MAX_SCAN_S."""
        while dt > 1e-9:
            h = min(dt, MAX_SCAN_S)
            self._scan(h)
            dt -= h

    def _scan(self, dt: float) -> None:
        program = self.program
        for fault in self.faults.update(program.program_time_s if program.running else None):
            log.warning("fault active", fault=str(fault), program_time_s=program.program_time_s)
        self._effects = fx = self.faults.effects()
        was = program.state
        program.advance(dt)
        if program.state is not was:
            log.info("program complete", program_time_s=round(program.program_time_s, 1))
        inputs = model.OvenInputs(
            setpoint_c=program.setpoint_c,
            setpoint_rate_c_per_s=program.setpoint_rate_c_per_s,
            n2_setpoint_lpm=self.n2_setpoint_lpm,
            door_open=fx.door_open,
            n2_supply_ok=not fx.n2_loss,
            failed_heaters=fx.failed_heaters,
            open_tcs=fx.open_tcs,
            control_offset_c=fx.control_offset_c,
        )
        before = self.state
        self.state = model.step(self.params, self.state, inputs, dt)
        self._cure_load(before, dt)
        self._check_overtemp()
        self._zones_c = model.read_thermocouples(self.params, self.state, fx.open_tcs, self._rng)
        self.heartbeat = (self.heartbeat + 1) & 0xFFFF
        self.sim_time_s += dt

    def _cure_load(self, before: model.OvenState, dt: float) -> None:
        """The molded wafers cure at the mean true chamber temperature over the scan.

        Wafers on a shelf in recirculating air lag the air by a few minutes;
        the model leaves that out, so the truth is the mean zone temperature.
        """
        if self.emc_params is None or self.load_alpha is None:
            return
        mean_c = (sum(before.zone_c) + sum(self.state.zone_c)) / (2 * len(self.state.zone_c))
        self.load_alpha = emc.step(self.emc_params, self.load_alpha, mean_c, dt)

    def load_emc(self, alpha0: float, params: emc.EmcParams | None = None) -> None:
        """Put molded wafers (EMC at degree of cure `alpha0`) into the chamber."""
        if not (math.isfinite(alpha0) and 0.0 <= alpha0 <= 1.0):
            raise SimConfigError(f"alpha0 must be a degree of cure 0..1, got {alpha0}")
        self.emc_params = params or emc.EmcParams()
        self.load_alpha = alpha0
        log.info("EMC load in", alpha0=alpha0)

    def _check_overtemp(self) -> None:
        """The independent limit controller: own sensors, trips the program to FAULT."""
        limit = self.params.overtemp_absolute_c
        target = self.program.max_target_c
        if self.program.running and target is not None:
            limit = min(limit, target + self.params.overtemp_margin_c)
        hottest = max(self.state.zone_c)
        if hottest > limit and not self._overtemp:
            self._overtemp = True
            self.program.trip()
            log.error("over-temperature trip", zone_c=round(hottest, 1), limit_c=limit)

    # --- commands -----------------------------------------------------------------

    def load_program(self, segments: Sequence[ProgramSegment]) -> None:
        """Download a program (refused with ControllerBusyError while running)."""
        self.program.load(segments)

    def check_command(self, command: int, segments: Sequence[ProgramSegment] | None = None) -> None:
        """Raise CommandRejectedError unless `command` would be accepted with `segments`."""
        if command == reg.CMD_START:
            self.program.check_start(segments)
        elif command == reg.CMD_RESET and self.program.running:
            raise ControllerBusyError("program is running; abort it before reset")
        elif command not in (0, reg.CMD_START, reg.CMD_ABORT, reg.CMD_RESET):
            raise InvalidProgramError(f"unknown command {command}")

    def command(self, command: int) -> None:
        """Execute a registers.CMD_* command (0 does nothing)."""
        self.check_command(command)
        if command == reg.CMD_START:
            self.program.start(self._mean_zone_c())
            log.info(
                "program started",
                segments=len(self.program.segments),
                start_c=round(self.program.setpoint_c or 0.0, 1),
            )
        elif command == reg.CMD_ABORT and self.program.running:
            self.program.abort()
            log.warning("program aborted", program_time_s=round(self.program.program_time_s, 1))
        elif command == reg.CMD_RESET:
            self.program.reset()
            self._overtemp = False

    def _mean_zone_c(self) -> float:
        """Mean of the zones the controller can read: where a program's first ramp starts."""
        readable = [t for t in self._zones_c if math.isfinite(t)]
        return sum(readable) / len(readable) if readable else self.params.ambient_c

    # --- faults -------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)
        self._effects = self.faults.effects()
        log.warning("fault injected", fault=str(fault))

    def clear(self, kind: FaultKind | str | None = None, zone: int | None = None) -> list[Fault]:
        gone = self.faults.clear(kind, zone)
        self._effects = self.faults.effects()
        for fault in gone:
            log.info("fault cleared", fault=str(fault))
        return gone

    # --- what the instruments show ------------------------------------------------------

    @property
    def effects(self) -> FaultEffects:
        return self._effects

    def readings(self) -> OvenReadings:
        fx = self._effects
        alarms = fx.alarm_bits | (reg.ALARM_OVERTEMP if self._overtemp else 0)
        sp = self.program.setpoint_c
        return OvenReadings(
            program_state=self.program.state,
            segment_index=self.program.segment_index,
            program_time_s=self.program.program_time_s,
            setpoint_c=0.0 if sp is None else sp,
            o2_ppm=self.state.o2_ppm,
            n2_flow_lpm=self.state.n2_flow_lpm,
            door_open=fx.door_open,
            alarm_bits=alarms,
            heartbeat=self.heartbeat,
            heater_fault_mask=fx.heater_fault_mask,
            tc_open_mask=fx.tc_open_mask,
            zones_c=self._zones_c,
            heater_pct=self.state.heater_pct,
        )
