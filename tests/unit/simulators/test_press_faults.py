"""Press faults without sockets: spec parsing, and what each fault does to the cycle."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from drivers.molding_press import nodes
from simulators.errors import SimConfigError
from simulators.press.faults import Fault, FaultKind, FaultSpecError, parse_fault
from simulators.press.plant import (
    CLAMP_S,
    OPEN_S,
    SHORT_FILL_STROKE,
    CycleState,
    JobStatus,
    PressJob,
    PressPlant,
    PressReadings,
)

JOB = PressJob("MUF-175", 42, 175.0, 300.0, 8.0, fill_time_s=10.0, cure_time_s=90.0, cycles=2)
CYCLE_S = CLAMP_S + JOB.fill_time_s + JOB.cure_time_s + OPEN_S


def run(
    plant: PressPlant, seconds: float, each: Callable[[PressReadings], None] | None = None
) -> None:
    """Advance the plant in 0.05-s slices, handing each slice's readings to `each`."""
    for _ in range(round(seconds / 0.05)):
        plant.advance(0.05)
        if each is not None:
            each(plant.readings())


def started(job: PressJob = JOB, faults: tuple[str, ...] = ()) -> PressPlant:
    plant = PressPlant(faults=[parse_fault(f) for f in faults], seed=1)
    plant.load_job(job)
    plant.start()
    return plant


class TestSpecs:
    @pytest.mark.parametrize(
        ("spec", "fault"),
        [
            ("platen_heater:side=top", Fault(FaultKind.PLATEN_HEATER, side="top")),
            (
                "platen_heater:side=bottom,at=30",
                Fault(FaultKind.PLATEN_HEATER, side="bottom", at_s=30.0),
            ),
            ("pressure_loss", Fault(FaultKind.PRESSURE_LOSS)),
            ("pressure_loss:cycle=2", Fault(FaultKind.PRESSURE_LOSS, cycle=2)),
            (" short_fill : cycle = 1 ", Fault(FaultKind.SHORT_FILL, cycle=1)),
        ],
    )
    def test_valid_specs_parse_and_print_back(self, spec: str, fault: Fault) -> None:
        """Each documented spec parses to its Fault, and str(fault) is a spec that parses."""
        assert parse_fault(spec) == fault
        assert parse_fault(str(fault)) == fault

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("heater", "unknown fault 'heater'; expected one of platen_heater, pressure_loss"),
            ("platen_heater", "side= is required"),
            ("platen_heater:side=left", "side must be top or bottom, got 'left'"),
            ("platen_heater:side=top,at=-1", "at must be a job time in seconds ≥ 0"),
            ("platen_heater:side=top,cycle=1", "platen_heater takes side, at; got 'cycle'"),
            ("short_fill:cycle=0", "cycle must be an integer 1..25, got '0'"),
            ("short_fill:cycle=x", "cycle must be an integer 1..25, got 'x'"),
            ("pressure_loss:cycle", "expected key=value, got 'cycle'"),
            ("short_fill:cycle=1,cycle=2", "cycle given twice"),
        ],
    )
    def test_bad_specs_name_what_is_wrong(self, spec: str, message: str) -> None:
        """A bad spec raises FaultSpecError (a SimConfigError) quoting the spec and the problem."""
        with pytest.raises(FaultSpecError) as info:
            parse_fault(spec)
        assert isinstance(info.value, SimConfigError)
        assert repr(spec) in str(info.value)
        assert message in str(info.value)


class TestPlatenHeater:
    def test_dead_top_heater_cools_the_top_platen_and_fails_the_cycle(self) -> None:
        """platen_heater:side=top: alarm bit 0 and one event at once; the top platen falls
        > 5 °C over a cycle while the bottom holds; the cycle counts bad."""
        plant = started(dataclasses.replace(JOB, cycles=1), faults=("platen_heater:side=top",))
        run(plant, CYCLE_S + 1)
        r = plant.readings()
        assert r.alarm_bits == nodes.ALARM_PLATEN_HEATER
        (event,) = plant.drain_events()
        assert event.on and event.severity == 700
        assert event.message.startswith("platen heater failure: top platen heater")
        assert r.platen_top_c < 170.0
        assert r.platen_bottom_c == pytest.approx(175.0, abs=2.0)
        assert (r.cycles, r.good_cycles, r.bad_cycles) == (1, 0, 1)
        assert r.job_status is JobStatus.FINISHED  # the press carries on; the MES decides

    def test_heater_fault_with_at_fires_at_that_job_time(self) -> None:
        """platen_heater:side=bottom,at=150: cycle 1 (0..110 s) good, cycle 2 bad, and the
        cured EMC of cycle 2 ends lower than cycle 1's."""
        plant = started(faults=("platen_heater:side=bottom,at=150",))
        run(plant, 140)
        assert plant.readings().alarm_bits == 0
        run(plant, 2 * CYCLE_S - 140 + 1)
        r = plant.readings()
        assert r.alarm_bits == nodes.ALARM_PLATEN_HEATER
        first, second = plant.cycle_truth()
        assert (first.good, second.good) == (True, False)
        assert second.alarm_bits == nodes.ALARM_PLATEN_HEATER
        assert second.alpha_end < first.alpha_end

    def test_injected_heater_fault_marks_the_running_cycle(self) -> None:
        """A heater dying mid-cycle (inject) marks the running cycle bad."""
        plant = started(dataclasses.replace(JOB, cycles=1))
        run(plant, 50)
        plant.inject(parse_fault("platen_heater:side=top"))
        run(plant, CYCLE_S)
        assert plant.cycle_truth()[0].good is False


class TestPressureLoss:
    def test_pressure_collapses_in_fill_of_the_named_cycle_only(self) -> None:
        """pressure_loss:cycle=2: cycle 1 good; in cycle 2 the measured pressure falls below
        half the set-point, the alarm (and, with the ram stalled, short fill) come up, the
        cycle counts bad; cycle 3 is good again (the alarm stays latched)."""
        plant = started(dataclasses.replace(JOB, cycles=3), faults=("pressure_loss:cycle=2",))
        low = {1: 8.0, 2: 8.0, 3: 8.0}

        def track(r: PressReadings) -> None:
            if r.cycle_state is CycleState.CURE:
                low[r.current_cycle] = min(low[r.current_cycle], r.transfer_pressure_mpa)

        run(plant, 3 * CYCLE_S + 1, track)
        assert low[1] > 7.9 and low[3] > 7.9
        assert low[2] < 1.0
        records = plant.cycle_truth()
        assert [c.good for c in records] == [True, False, True]
        assert records[1].alarm_bits & nodes.ALARM_PRESSURE_LOSS
        r = plant.readings()
        assert (r.cycles, r.good_cycles, r.bad_cycles) == (3, 2, 1)
        assert r.alarm_bits & nodes.ALARM_PRESSURE_LOSS
        messages = [e.message for e in plant.drain_events()]
        assert any(m.startswith("pressure loss during fill: ") for m in messages)

    def test_without_cycle_every_cycle_suffers(self) -> None:
        """pressure_loss without cycle=: every cycle is bad."""
        plant = started(faults=("pressure_loss",))
        run(plant, 2 * CYCLE_S + 1)
        assert [c.good for c in plant.cycle_truth()] == [False, False]


class TestShortFill:
    def test_ram_stops_at_70_percent_and_the_cycle_is_bad(self) -> None:
        """short_fill:cycle=1: the ram ends fill at 35 mm of 50, alarm bit 2 and an event
        naming the stroke, cycle 1 bad, cycle 2 good; only the short-fill alarm."""
        plant = started(faults=("short_fill:cycle=1",))
        run(plant, 2 * CYCLE_S + 1)
        first, second = plant.cycle_truth()
        assert first.ram_end_of_fill_mm == pytest.approx(SHORT_FILL_STROKE)
        assert pytest.approx(35.0) == SHORT_FILL_STROKE
        assert (first.good, first.alarm_bits) == (False, nodes.ALARM_SHORT_FILL)
        assert second.good
        assert plant.readings().alarm_bits == nodes.ALARM_SHORT_FILL
        (event,) = plant.drain_events()
        assert event.message == "short fill: ram stopped at 35.0 of 50 mm (cycle 1)"

    def test_cleared_fault_stops_hitting_cycles(self) -> None:
        """clear(short_fill) after cycle 1: cycle 2 fills completely."""
        plant = started(faults=("short_fill",))
        run(plant, CYCLE_S + 1)
        assert [str(f) for f in plant.clear("short_fill")] == ["short_fill"]
        run(plant, CYCLE_S)
        assert [c.good for c in plant.cycle_truth()] == [False, True]

    def test_unknown_kind_to_clear_is_refused(self) -> None:
        """clear('door_open') raises FaultSpecError naming the kind."""
        with pytest.raises(FaultSpecError, match="unknown fault kind 'door_open'"):
            PressPlant().clear("door_open")
