"""The cure-oven simulator without sockets: physics, zone loops, program controller, faults."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest

from drivers.cure_oven import registers as reg
from simulators.oven import model
from simulators.oven.faults import parse_fault
from simulators.oven.plant import OvenPlant, OvenReadings
from simulators.oven.program import (
    ControllerBusyError,
    InvalidProgramError,
    ProgramController,
    ProgramSegment,
    ProgramState,
    SegmentKind,
)

RAMP, SOAK = SegmentKind.RAMP, SegmentKind.SOAK
PMC = [  # post-mold cure shape (DOMAIN.md): 3 °C/min to 175, soak, cool to 50 at 3 °C/min
    ProgramSegment(RAMP, 175.0, rate_c_per_min=3.0),
    ProgramSegment(SOAK, 175.0, duration_s=1800.0),
    ProgramSegment(RAMP, 50.0, rate_c_per_min=3.0),
]
RAMP_END_S = 150 / 3 * 60  # 3000 s from 25 °C
SOAK_END_S = RAMP_END_S + 1800


def run(
    plant: OvenPlant, seconds: float, each: Callable[[OvenReadings], None] | None = None
) -> None:
    """Advance the plant one 1-s scan at a time, handing each scan's readings to `each`."""
    for _ in range(round(seconds)):
        plant.advance(1.0)
        if each is not None:
            each(plant.readings())


def started(program: list[ProgramSegment], faults: Sequence[str] = ()) -> OvenPlant:
    plant = OvenPlant(faults=[parse_fault(f) for f in faults], seed=1)
    plant.load_program(program)
    plant.command(reg.CMD_START)
    return plant


class TestZoneTracking:
    def test_zones_track_a_3c_per_min_ramp_within_2c_and_soak_within_1c(self) -> None:
        """Every zone reads within ±2 °C of a 3 °C/min ramp to 175 and within ±1 °C at soak
        after 2 min of settling, and follows the 3 °C/min cool-down to 50 within ±2 °C."""
        plant = started(PMC)
        worst = {"ramp": 0.0, "soak": 0.0, "cool": 0.0}

        def check(r: OvenReadings) -> None:
            if r.program_state is not ProgramState.RUNNING:
                return
            err = max(abs(t - r.setpoint_c) for t in r.zones_c)
            if r.segment_index == 0:
                worst["ramp"] = max(worst["ramp"], err)
            elif r.segment_index == 1 and r.program_time_s > RAMP_END_S + 120:
                worst["soak"] = max(worst["soak"], err)
            elif r.segment_index == 2:
                worst["cool"] = max(worst["cool"], err)

        run(plant, SOAK_END_S + 125 / 3 * 60 + 10, check)

        assert plant.program.state is ProgramState.COMPLETE
        assert worst["ramp"] <= 2.0
        assert worst["soak"] <= 1.0
        assert worst["cool"] <= 2.0

    def test_readings_carry_bounded_seeded_noise(self) -> None:
        """Thermocouples read the truth ±0.1 °C, and the same seed gives the same readings."""
        a, b = OvenPlant(seed=7), OvenPlant(seed=7)
        run(a, 30)
        run(b, 30)
        assert a.readings().zones_c == b.readings().zones_c
        for reading, truth in zip(a.readings().zones_c, a.state.zone_c, strict=True):
            assert abs(reading - truth) <= 0.1

    def test_idle_oven_keeps_heaters_off_and_stays_at_ambient(self) -> None:
        """With no program running the zone loops are off: 0 % output, zones at ambient."""
        plant = OvenPlant()
        run(plant, 600)
        r = plant.readings()
        assert r.heater_pct == (0.0,) * 4
        assert r.setpoint_c == 0.0
        assert all(abs(t - 25.0) < 0.2 for t in r.zones_c)


class TestHeaterFailure:
    def test_failed_zone_leaves_the_band_while_the_others_stay(self) -> None:
        """A heater failure at soak (at= program time) drops its zone out of ±3 °C within
        5 min; the other zones stay within ±3 °C; the alarm bit and zone mask are set."""
        at = RAMP_END_S + 300
        plant = started(PMC, [f"heater_failure:zone=2,at={at:g}"])
        run(plant, at - 1)
        assert plant.readings().alarm_bits == 0
        assert abs(plant.readings().zones_c[1] - 175.0) <= 1.0
        others_worst = 0.0

        def check(r: OvenReadings) -> None:
            nonlocal others_worst
            others_worst = max(others_worst, *(abs(r.zones_c[z] - 175.0) for z in (0, 2, 3)))

        run(plant, 300, check)
        r = plant.readings()
        assert r.zones_c[1] < 172.0
        assert others_worst <= 3.0
        assert r.alarm_bits & reg.ALARM_HEATER_FAILURE
        assert r.heater_fault_mask == 0b0010

    def test_soak_time_runs_without_holdback(self) -> None:
        """The program ends on its own clock even though a zone never reaches the band."""
        plant = started(PMC, ["heater_failure:zone=3"])
        run(plant, SOAK_END_S + 125 / 3 * 60 + 10)
        assert plant.program.state is ProgramState.COMPLETE
        assert plant.program.program_time_s == pytest.approx(SOAK_END_S + 2500, abs=2)


class TestOvershoot:
    def test_overshoot_fault_holds_the_zone_about_delta_above_target(self) -> None:
        """overshoot:zone=3,delta=8 puts zone 3 ~8 °C above the soak target, others in ±1 °C."""
        plant = started(PMC, ["overshoot:zone=3,delta=8"])
        run(plant, RAMP_END_S + 600)
        r = plant.readings()
        assert r.zones_c[2] - 175.0 == pytest.approx(8.0, abs=1.0)
        assert all(abs(r.zones_c[z] - 175.0) <= 1.0 for z in (0, 1, 3))
        assert r.program_state is ProgramState.RUNNING

    def test_overshoot_past_the_limit_trips_the_program_to_fault(self) -> None:
        """A zone more than 15 °C over the program's highest target trips over-temperature:
        program FAULT, heaters off, alarm latched until reset."""
        plant = started(PMC, ["overshoot:zone=1,delta=20"])
        run(plant, RAMP_END_S + 600)
        r = plant.readings()
        assert r.program_state is ProgramState.FAULT
        assert r.alarm_bits & reg.ALARM_OVERTEMP
        assert r.heater_pct == (0.0,) * 4
        with pytest.raises(ControllerBusyError):
            plant.command(reg.CMD_START)
        plant.command(reg.CMD_RESET)
        assert plant.readings().program_state is ProgramState.IDLE
        assert not plant.readings().alarm_bits & reg.ALARM_OVERTEMP


class TestThermocoupleOpen:
    def test_open_thermocouple_reads_nan_and_its_zone_loop_fails_safe(self) -> None:
        """tc_open reads NaN, sets the alarm bit and mask, and its loop drives 0 %."""
        plant = started(PMC, ["tc_open:zone=4"])
        run(plant, 600)
        r = plant.readings()
        assert math.isnan(r.zones_c[3])
        assert r.tc_open_mask == 0b1000
        assert r.alarm_bits & reg.ALARM_TC_OPEN
        assert r.heater_pct[3] == 0.0
        assert all(math.isfinite(t) for t in r.zones_c[:3])


class TestAtmosphere:
    def test_purged_closed_oven_idles_at_a_few_ppm(self) -> None:
        """Door closed and N2 flowing at the default setpoint: O2 a few ppm, flow at setpoint."""
        plant = OvenPlant()
        run(plant, 3600)
        assert 1.0 < plant.readings().o2_ppm < 10.0
        assert plant.readings().n2_flow_lpm == pytest.approx(50.0, rel=0.01)

    def test_door_open_floods_the_chamber_and_purge_recovers_it(self) -> None:
        """Door open: O2 > 100 000 ppm within 2 min and the door alarm; door closed again,
        the purge brings O2 back under 10 ppm within an hour."""
        plant = OvenPlant()
        plant.inject(parse_fault("door_open"))
        run(plant, 120)
        r = plant.readings()
        assert r.o2_ppm > 100_000
        assert r.door_open
        assert r.alarm_bits & reg.ALARM_DOOR_OPEN
        plant.clear("door_open")
        run(plant, 3600)
        assert plant.readings().o2_ppm < 10.0
        assert plant.readings().alarm_bits == 0

    def test_n2_loss_drops_the_flow_and_lets_o2_rise(self) -> None:
        """N2 lost: flow near 0 within 10 s, N2-low alarm, O2 above 1000 ppm within 5 min and
        still rising toward air; supply restored, O2 falls again."""
        plant = OvenPlant()
        plant.inject(parse_fault("n2_loss"))
        run(plant, 10)
        assert plant.readings().n2_flow_lpm < 0.5
        assert plant.readings().alarm_bits & reg.ALARM_N2_LOW
        run(plant, 290)
        o2_5min = plant.readings().o2_ppm
        assert o2_5min > 1000
        run(plant, 1800)
        assert plant.readings().o2_ppm > o2_5min
        assert plant.readings().o2_ppm < model.AIR_O2_PPM
        plant.clear("n2_loss")
        high = plant.readings().o2_ppm
        run(plant, 600)
        assert plant.readings().o2_ppm < high / 10


class TestProgramController:
    PROGRAM = (
        ProgramSegment(RAMP, 100.0, rate_c_per_min=5.0),  # 25 → 100: 900 s
        ProgramSegment(SOAK, 100.0, duration_s=600.0),
        ProgramSegment(RAMP, 50.0, rate_c_per_min=10.0),  # 100 → 50: 300 s
    )

    def started(self) -> ProgramController:
        pc = ProgramController()
        pc.load(self.PROGRAM)
        pc.start(25.0)
        return pc

    def test_enums_match_the_register_map(self) -> None:
        """State and segment-kind values are the ones registers.py documents on the wire."""
        assert {s.value: s.name.lower() for s in ProgramState} == reg.PROGRAM_STATES
        assert {k.value: k.name.lower() for k in SegmentKind} == reg.SEGMENT_KINDS

    def test_segments_run_in_order_on_program_time(self) -> None:
        """Ramp from the start temperature at its rate, soak for its duration, ramp down;
        segment index and setpoint follow program time, then COMPLETE with index -1."""
        pc = self.started()
        seen = []
        for _ in range(1900):
            pc.advance(1.0)
            seen.append((pc.program_time_s, pc.segment_index, pc.setpoint_c))
        assert seen[449] == (450.0, 0, pytest.approx(62.5))
        assert seen[899][1:] == (1, 100.0)  # ramp ended exactly at 900 s
        assert seen[1499][1:] == (2, 100.0)  # soak ended exactly at 1500 s
        assert seen[1649][1:] == (2, pytest.approx(75.0))
        assert pc.state is ProgramState.COMPLETE
        assert pc.segment_index == -1
        assert pc.setpoint_c is None
        assert pc.program_time_s == pytest.approx(1800.0)  # frozen at the end

    def test_one_long_advance_crosses_segment_ends_exactly(self) -> None:
        """advance(1000) lands 100 s into the soak, whatever the step size."""
        pc = self.started()
        pc.advance(1000.0)
        assert (pc.segment_index, pc.setpoint_c, pc.program_time_s) == (1, 100.0, 1000.0)
        assert pc.setpoint_rate_c_per_s == 0.0

    def test_ramp_rate_sign_follows_direction(self) -> None:
        """The setpoint slope is +rate going up and -rate going down (feedforward input)."""
        pc = self.started()
        pc.advance(10.0)
        assert pc.setpoint_rate_c_per_s == pytest.approx(5.0 / 60)
        pc.advance(1600.0)
        assert pc.setpoint_rate_c_per_s == pytest.approx(-10.0 / 60)

    def test_abort_stops_and_reset_returns_to_idle(self) -> None:
        """Abort: ABORTED, index -1, setpoint off, program time frozen; reset: IDLE at 0 s."""
        pc = self.started()
        pc.advance(300.0)
        pc.abort()
        pc.advance(100.0)
        assert (pc.state, pc.segment_index, pc.setpoint_c) == (ProgramState.ABORTED, -1, None)
        assert pc.program_time_s == 300.0
        pc.reset()
        assert (pc.state, pc.program_time_s) == (ProgramState.IDLE, 0.0)
        pc.start(30.0)  # the program is still loaded
        assert pc.running

    def test_refusals(self) -> None:
        """Start without a program or with a zero-rate ramp is invalid; load, start or reset
        while running is busy."""
        pc = ProgramController()
        with pytest.raises(InvalidProgramError, match="no program"):
            pc.start(25.0)
        pc.load([ProgramSegment(RAMP, 100.0, rate_c_per_min=0.0)])
        with pytest.raises(InvalidProgramError, match="rate 0"):
            pc.start(25.0)
        pc = self.started()
        with pytest.raises(ControllerBusyError):
            pc.load(self.PROGRAM)
        with pytest.raises(ControllerBusyError):
            pc.start(25.0)
        with pytest.raises(ControllerBusyError):
            pc.reset()

    def test_plant_starts_ramps_from_the_mean_zone_temperature(self) -> None:
        """START takes the mean of the readable zones as the ramp's first setpoint."""
        plant = OvenPlant(seed=3)
        mean = sum(plant.readings().zones_c) / 4
        plant.load_program(self.PROGRAM)
        plant.command(reg.CMD_START)
        assert plant.program.setpoint_c == pytest.approx(mean)
