"""Plating-tool faults without sockets: spec parsing, and what each fault does."""

from __future__ import annotations

import pytest

from drivers.plater import nodes
from simulators.errors import SimConfigError
from simulators.plater.faults import Fault, FaultKind, FaultSpecError, parse_fault
from simulators.plater.plant import CellState, PlaterPlant, PlatingJob

JOB = PlatingJob("W01", 9, (10.0, 10.0), (60.0, 60.0), 0.0)


def run(plant: PlaterPlant, seconds: float, slice_s: float = 0.1) -> None:
    for _ in range(round(seconds / slice_s)):
        plant.advance(slice_s)


def started(*faults: str, job: PlatingJob = JOB) -> PlaterPlant:
    plant = PlaterPlant(faults=[parse_fault(f) for f in faults], seed=1)
    plant.load_job(1, job)
    plant.start(1)
    return plant


class TestParse:
    @pytest.mark.parametrize(
        ("spec", "fault"),
        [
            ("contact:cell=1", Fault(FaultKind.CONTACT, cell=1)),
            ("contact:cell=2,at=30", Fault(FaultKind.CONTACT, cell=2, at_s=30.0)),
            ("rectifier_trip:cell=1,at=5.5", Fault(FaultKind.RECTIFIER_TRIP, cell=1, at_s=5.5)),
            ("bath_overtemp", Fault(FaultKind.BATH_OVERTEMP)),
            ("bath_overtemp:at=100", Fault(FaultKind.BATH_OVERTEMP, at_s=100.0)),
        ],
    )
    def test_good_specs(self, spec: str, fault: Fault) -> None:
        assert parse_fault(spec) == fault
        assert parse_fault(str(fault)) == fault

    @pytest.mark.parametrize(
        ("spec", "why"),
        [
            ("flood", "unknown fault"),
            ("contact", "cell= is required"),
            ("contact:cell=0", "cell must be"),
            ("contact:cell=x", "cell must be"),
            ("contact:cell=1,at=-3", "at must be"),
            ("bath_overtemp:cell=1", "takes at"),
            ("contact:cell=1,cell=2", "given twice"),
            ("contact:cell", "key=value"),
        ],
    )
    def test_bad_specs_name_the_problem(self, spec: str, why: str) -> None:
        with pytest.raises(FaultSpecError, match=why) as info:
            parse_fault(spec)
        assert isinstance(info.value, SimConfigError)
        assert repr(spec) in str(info.value)

    def test_fault_on_a_cell_the_tool_lacks_is_refused(self) -> None:
        with pytest.raises(FaultSpecError, match=r"cell must be 1\.\.2"):
            PlaterPlant(faults=[parse_fault("contact:cell=3")])


class TestEffects:
    def test_contact_collapses_the_current_and_the_cell_runs_on(self) -> None:
        plant = started("contact:cell=1,at=30")
        run(plant, 29.0)
        assert plant.readings().cells[0].current_a == pytest.approx(10.0, abs=0.1)
        run(plant, 3.0)
        cell = plant.readings().cells[0]
        assert cell.current_a == pytest.approx(0.2, abs=0.05)  # ~2 % of 10 A
        assert cell.current_setpoint_a == 10.0
        assert cell.alarm_bits & nodes.ALARM_CONTACT
        assert cell.voltage_v > 30.0  # the rectifier at compliance
        events = plant.drain_events()
        assert [(e.bit, e.on, e.source) for e in events] == [
            (nodes.ALARM_CONTACT, True, "Plater.Cell1")
        ]
        assert events[0].message.startswith("contact failure")
        run(plant, 100.0)
        truth = plant.wafer_truth("W01")
        assert plant.readings().cells[0].state is CellState.DONE
        assert truth.completed
        assert truth.alarm_bits == nodes.ALARM_CONTACT
        # 30 s of 10 A plus 90 s of 0.2 A
        assert truth.charge_c == pytest.approx(30 * 10 + 90 * 0.2, rel=0.03)

    def test_rectifier_trip_zeroes_the_current_and_faults_the_cell(self) -> None:
        plant = started("rectifier_trip:cell=1,at=20")
        run(plant, 25.0)
        cell = plant.readings().cells[0]
        assert cell.state is CellState.FAULT
        assert cell.current_a == 0.0
        assert cell.alarm_bits == nodes.ALARM_RECTIFIER_TRIP
        truth = plant.wafer_truth("W01")
        assert not truth.completed
        assert truth.charge_c == pytest.approx(20 * 10.0 - 0.5 * 10.0, rel=0.005)  # less τ·I
        with pytest.raises(Exception, match="Reset"):
            plant.load_job(1, JOB)
        plant.clear(FaultKind.RECTIFIER_TRIP)
        assert plant.readings().cells[0].alarm_bits  # latched until Reset
        plant.reset(1)
        assert plant.readings().cells[0].alarm_bits == 0
        assert [e.on for e in plant.drain_events()] == [True, False]

    def test_cell_fault_touches_only_its_cell(self) -> None:
        plant = started("rectifier_trip:cell=2")
        plant.load_job(2, PlatingJob("W02", 1, (5.0,), (10.0,)))
        run(plant, 5.0)
        assert plant.readings().cells[0].state is CellState.PLATING
        plant.start(2)
        run(plant, 1.0)
        assert plant.readings().cells[1].state is CellState.FAULT

    def test_bath_overtemp_heats_the_bath_and_raises_its_alarm(self) -> None:
        plant = PlaterPlant(faults=[parse_fault("bath_overtemp:at=60")], seed=1)
        run(plant, 59.0, 1.0)
        assert plant.readings().bath.temperature_c == pytest.approx(22.0, abs=0.3)
        run(plant, 600.0, 1.0)
        bath = plant.readings().bath
        assert bath.temperature_c == pytest.approx(35.0, abs=0.5)
        assert bath.alarm_bits == nodes.ALARM_BATH_OVERTEMP
        plant.clear("bath_overtemp")
        run(plant, 600.0, 1.0)
        assert plant.readings().bath.alarm_bits == 0
        events = plant.drain_events()
        assert [(e.on, e.source) for e in events] == [(True, "Plater.Bath"), (False, "Plater.Bath")]

    def test_inject_at_run_time(self) -> None:
        plant = started()
        run(plant, 10.0)
        plant.inject(parse_fault("contact:cell=1"))
        run(plant, 1.0)
        assert plant.readings().cells[0].current_a < 0.5
        assert plant.clear() == [Fault(FaultKind.CONTACT, cell=1)]
