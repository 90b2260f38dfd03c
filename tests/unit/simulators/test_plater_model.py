"""Plating-tool physics and sequencing without sockets: Faraday, ramp, lag, steps, η drift."""

from __future__ import annotations

import pytest

from drivers.plater import nodes
from simulators.errors import SimConfigError
from simulators.plater import model
from simulators.plater.plant import (
    CellState,
    InvalidArgumentError,
    InvalidStateError,
    PlaterPlant,
    PlatingJob,
    argument_errors,
)

AREA = model.PlaterParams().plated_area_dm2


def run(plant: PlaterPlant, seconds: float, slice_s: float = 0.05) -> None:
    for _ in range(round(seconds / slice_s)):
        plant.advance(slice_s)


def job(
    currents: tuple[float, ...] = (2 * AREA, 4 * AREA),
    durations: tuple[float, ...] = (60.0, 120.0),
    ramp_s: float = 0.0,
    wafer: str = "W01",
) -> PlatingJob:
    return PlatingJob(wafer, 7, currents, durations, ramp_s)


class TestFaraday:
    def test_two_asd_ten_minutes_on_one_dm2(self) -> None:
        """2 A/dm² × 10 min on 1 dm² at η = 1: 1200 C → 4.41 µm (DOMAIN.md's 4.4 µm)."""
        assert model.thickness_um(2.0 * 600.0, 1.0, 1.0) == pytest.approx(4.41, abs=0.005)
        assert pytest.approx(0.2205, abs=1e-4) == model.UM_PER_ASD_MIN

    def test_with_eta_089(self) -> None:
        """At η = 0.89 the same charge plates 3.93 µm (DOMAIN.md's 3.9 µm measured)."""
        assert model.thickness_um(1200.0, 0.89, 1.0) == pytest.approx(3.925, abs=0.005)

    def test_thickness_scales_with_charge_and_inversely_with_area(self) -> None:
        h = model.thickness_um(1000.0, 0.9, 2.0)
        assert model.thickness_um(2000.0, 0.9, 2.0) == pytest.approx(2 * h)
        assert model.thickness_um(1000.0, 0.9, 4.0) == pytest.approx(h / 2)

    def test_default_plated_area_is_40_percent_of_a_300mm_wafer(self) -> None:
        assert pytest.approx(2.827, abs=0.001) == AREA


class TestEfficiency:
    def test_eta_drifts_down_with_amp_hours_and_is_bounded(self) -> None:
        p = model.PlaterParams()
        assert model.efficiency(p, 0.0) == pytest.approx(0.95)
        assert model.efficiency(p, 1000.0) == pytest.approx(0.90)
        assert model.efficiency(p, 2000.0) == pytest.approx(0.85)
        assert model.efficiency(p, 1e6) == pytest.approx(0.85)

    def test_older_bath_plates_thinner_for_the_same_job(self) -> None:
        fresh, old = PlaterPlant(seed=1), PlaterPlant(seed=1, amp_hours0=1500.0)
        for plant in (fresh, old):
            plant.load_job(1, job())
            plant.start(1)
            run(plant, 200.0, 0.5)
        a, b = fresh.wafer_truth("W01"), old.wafer_truth("W01")
        assert a.charge_c == pytest.approx(b.charge_c)
        assert a.eta == pytest.approx(0.95, abs=1e-3)
        assert b.eta == pytest.approx(0.875, abs=1e-3)
        assert b.thickness_um / a.thickness_um == pytest.approx(0.875 / 0.95, rel=1e-3)

    def test_amp_hours_accumulate_the_true_charge_of_all_cells(self) -> None:
        plant = PlaterPlant(seed=1, amp_hours0=10.0)
        plant.load_job(1, job(wafer="A"))
        plant.load_job(2, job(wafer="B"))
        plant.start(1)
        plant.start(2)
        run(plant, 200.0, 0.5)
        q = plant.wafer_truth("A").charge_c + plant.wafer_truth("B").charge_c
        assert plant.amp_hours == pytest.approx(10.0 + q / 3600.0)


class TestRectifier:
    def test_lag_follows_a_step_with_half_second_time_constant(self) -> None:
        plant = PlaterPlant(seed=1)
        plant.load_job(1, job(currents=(10.0,), durations=(30.0,)))
        plant.start(1)
        plant.advance(0.5)
        assert plant.true_current(1) == pytest.approx(10.0 * (1 - 2.718281828**-1), rel=0.02)
        plant.advance(4.5)
        assert plant.true_current(1) == pytest.approx(10.0, rel=1e-3)

    def test_ramp_between_steps_is_linear_over_ramp_s(self) -> None:
        plant = PlaterPlant(seed=1)
        plant.load_job(1, job(currents=(4.0, 8.0), durations=(20.0, 40.0), ramp_s=10.0))
        plant.start(1)
        run(plant, 25.0)  # 5 s into step 1: half-way up from 4 to 8 A
        cell = plant.readings().cells[0]
        assert cell.step == 1
        assert cell.current_setpoint_a == pytest.approx(6.0, abs=0.01)
        run(plant, 10.0)
        assert plant.readings().cells[0].current_setpoint_a == pytest.approx(8.0)

    def test_measured_current_is_true_current_plus_small_noise(self) -> None:
        plant = PlaterPlant(seed=3)
        plant.load_job(1, job(currents=(10.0,), durations=(60.0,)))
        plant.start(1)
        run(plant, 10.0)
        cell = plant.readings().cells[0]
        assert cell.current_a == pytest.approx(plant.true_current(1), abs=0.05)
        assert cell.current_a != plant.true_current(1)
        assert cell.voltage_v == pytest.approx(10.0 * 0.3 + 0.1, abs=0.05)


class TestSequencing:
    def test_two_steps_run_to_done_and_charge_matches_the_steps(self) -> None:
        plant = PlaterPlant(seed=1)
        plant.load_job(1, job())
        assert plant.readings().cells[0].state is CellState.LOADED
        plant.start(1)
        run(plant, 59.0)
        assert plant.readings().cells[0].step == 0
        run(plant, 2.0)
        assert plant.readings().cells[0].step == 1
        run(plant, 130.0)
        cell = plant.readings().cells[0]
        assert cell.state is CellState.DONE
        assert cell.step == -1
        assert cell.current_a == 0.0
        truth = plant.wafer_truth("W01")
        assert truth.completed
        assert truth.job_time_s == pytest.approx(180.0)
        # Ideal charge less the rectifier lag (τ·ΔI at each step edge).
        ideal = 2 * AREA * 60 + 4 * AREA * 120
        assert truth.charge_c == pytest.approx(ideal - 0.5 * 4 * AREA, rel=2e-3)
        assert truth.thickness_um == pytest.approx(
            model.thickness_um(truth.charge_c, truth.eta, AREA)
        )
        # ≈ 0.2205 · (2·1 + 4·2) A·min/dm² · 0.95
        assert truth.thickness_um == pytest.approx(0.2205 * 10 * 0.95, rel=5e-3)

    def test_result_does_not_depend_on_time_slicing(self) -> None:
        a, b = PlaterPlant(seed=1), PlaterPlant(seed=2)
        for plant, slice_s in ((a, 0.05), (b, 0.7)):
            plant.load_job(1, job(ramp_s=7.0))
            plant.start(1)
            run(plant, 190.0 if slice_s < 0.5 else 190.4, slice_s)
        assert a.wafer_truth("W01").charge_c == pytest.approx(b.wafer_truth("W01").charge_c)

    def test_cells_plate_independently(self) -> None:
        plant = PlaterPlant(seed=1)
        plant.load_job(1, job(wafer="A"))
        plant.load_job(2, job(wafer="B", currents=(3.0,), durations=(30.0,)))
        plant.start(1)
        run(plant, 10.0)
        plant.start(2)
        run(plant, 40.0)
        cells = plant.readings().cells
        assert cells[0].state is CellState.PLATING
        assert cells[1].state is CellState.DONE

    def test_commands_in_the_wrong_state_are_refused(self) -> None:
        plant = PlaterPlant(seed=1)
        with pytest.raises(InvalidStateError):
            plant.start(1)
        plant.load_job(1, job())
        plant.start(1)
        with pytest.raises(InvalidStateError):
            plant.load_job(1, job())
        with pytest.raises(InvalidStateError):
            plant.reset(1)
        plant.abort(1)
        assert plant.readings().cells[0].state is CellState.ABORTED
        assert not plant.wafer_truth("W01").completed
        plant.reset(1)
        assert plant.readings().cells[0].state is CellState.IDLE

    def test_argument_limits_name_the_argument(self) -> None:
        assert [e.argument for e in argument_errors(job(currents=(250.0, 1.0)))] == ["Currents"]
        assert [e.argument for e in argument_errors(job(durations=(0.5, 10.0)))] == ["Durations"]
        assert [e.argument for e in argument_errors(job(durations=(10.0,)))] == ["Durations"]
        assert [e.argument for e in argument_errors(job(ramp_s=500.0))] == ["RampS"]
        nine = (1.0,) * (nodes.MAX_STEPS + 1)
        errors = argument_errors(job(currents=nine, durations=nine))
        assert errors[0].argument == "Currents"
        assert "1..8" in str(errors[0])
        assert "200" in str(argument_errors(job(currents=(250.0, 1.0)))[0])
        plant = PlaterPlant()
        with pytest.raises(InvalidArgumentError):
            plant.load_job(1, job(wafer=""))
        assert plant.readings().cells[0].state is CellState.IDLE

    def test_bad_construction_is_a_config_error(self) -> None:
        with pytest.raises(SimConfigError):
            PlaterPlant(amp_hours0=-1.0)
        with pytest.raises(SimConfigError):
            PlaterPlant(cells=0)
