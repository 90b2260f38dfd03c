"""The molding-press simulator without sockets: platens, hydraulics, cycle sequencer, EMC truth."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from drivers.molding_press import nodes
from simulators.physics import emc
from simulators.press import model
from simulators.press.faults import parse_fault
from simulators.press.plant import (
    CLAMP_S,
    OPEN_S,
    AlarmEvent,
    CycleState,
    InvalidArgumentError,
    InvalidStateError,
    JobStatus,
    PressJob,
    PressPlant,
    PressReadings,
    ProductionStatus,
)

JOB = PressJob(
    name="MUF-175",
    run_id=42,
    mold_temp_c=175.0,
    clamp_force_kn=300.0,
    transfer_pressure_mpa=8.0,
    fill_time_s=10.0,
    cure_time_s=90.0,
    cycles=2,
)
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


class TestPlatens:
    def test_press_powers_up_hot_and_idle(self) -> None:
        """A new press stands by at 175 °C: no job, no production, mold open, ram home."""
        plant = PressPlant(seed=1)
        r = plant.readings()
        assert r.platen_top_c == pytest.approx(175.0, abs=0.2)
        assert r.platen_bottom_c == pytest.approx(175.0, abs=0.2)
        assert (r.job_status, r.production_status, r.cycle_state) == (
            JobStatus.NO_JOB, ProductionStatus.NO_PRODUCTION, CycleState.IDLE,
        )  # fmt: skip
        assert (r.ram_position_mm, r.alarm_bits) == (0.0, 0)
        assert 0.0 <= r.clamp_force_kn < 1.0  # an unloaded load cell reads its noise, never < 0

    def test_platens_move_to_a_new_mold_temperature_and_hold_it(self) -> None:
        """Loading a 160 °C job: start-up while the platens cool, ready within ±1 °C by 10 min."""
        plant = PressPlant(seed=1)
        plant.load_job(dataclasses.replace(JOB, mold_temp_c=160.0))
        assert plant.readings().production_status is ProductionStatus.START_UP
        run(plant, 600)
        r = plant.readings()
        assert r.production_status is ProductionStatus.READY
        assert r.platen_top_c == pytest.approx(160.0, abs=1.0)
        assert r.platen_bottom_c == pytest.approx(160.0, abs=1.0)

    def test_cold_press_heats_at_a_plausible_rate(self) -> None:
        """From 25 °C both platens reach 175 °C in 5..20 min without overshooting 3 °C."""
        params = model.PressParams()
        state = dataclasses.replace(
            model.initial_state(params), platen_c=(25.0, 25.0), heater_pct=(0.0, 0.0)
        )
        inputs = model.PressInputs(setpoint_c=175.0)
        reached = None
        peak = 0.0
        for i in range(30 * 60 * 10):
            state = model.step(params, state, inputs, 0.1)
            peak = max(peak, *state.platen_c)
            if reached is None and min(state.platen_c) >= 172.0:
                reached = (i + 1) * 0.1
        assert reached is not None and 300 <= reached <= 1200
        assert peak < 178.0


class TestCycle:
    def test_two_cycle_job_runs_through_every_stage_to_finished(self) -> None:
        """idle → clamp 5 s → fill 10 s → cure 90 s → open 5 s, twice; then finished 2/2/0."""
        plant = started()
        seen: list[tuple[int, CycleState]] = []

        def track(r: PressReadings) -> None:
            if not seen or seen[-1] != (r.current_cycle, r.cycle_state):
                seen.append((r.current_cycle, r.cycle_state))

        run(plant, 2 * CYCLE_S + 5, track)
        stages = [CycleState.CLAMP, CycleState.FILL, CycleState.CURE, CycleState.OPEN]
        assert seen == [(1, s) for s in stages] + [(2, s) for s in stages] + [(0, CycleState.IDLE)]
        r = plant.readings()
        assert r.job_status is JobStatus.FINISHED
        assert (r.cycles, r.good_cycles, r.bad_cycles) == (2, 2, 0)
        assert r.last_cycle_time_s == pytest.approx(CYCLE_S)
        assert r.job_time_s == pytest.approx(2 * CYCLE_S)
        assert (r.run_id, r.current_cycle, r.cycle_time_s) == (42, 0, 0.0)
        assert r.production_status is ProductionStatus.READY

    def test_stage_durations_are_exact(self) -> None:
        """Each stage starts at its nominal job time, to a scan (the sequencer cuts scans there)."""
        plant = started(dataclasses.replace(JOB, fill_time_s=7.25, cycles=1))
        starts: dict[CycleState, float] = {}

        def track(r: PressReadings) -> None:
            starts.setdefault(r.cycle_state, r.job_time_s)

        run(plant, CYCLE_S, track)
        assert starts[CycleState.FILL] == pytest.approx(5.0, abs=0.06)
        assert starts[CycleState.CURE] == pytest.approx(12.25, abs=0.06)
        assert starts[CycleState.OPEN] == pytest.approx(102.25, abs=0.06)

    def test_hydraulics_follow_the_stages(self) -> None:
        """Clamp force at set-point from clamp to cure, transfer pressure during fill and
        cure, the ram at full stroke before fill ends and back home when the mold opens."""
        plant = started(dataclasses.replace(JOB, cycles=1))
        worst = {"clamp": 0.0, "pressure": 0.0}
        ram_at: dict[str, float] = {}

        def check(r: PressReadings) -> None:
            if r.cycle_state is CycleState.CURE:
                worst["clamp"] = max(worst["clamp"], abs(r.clamp_force_kn - 300.0))
                worst["pressure"] = max(worst["pressure"], abs(r.transfer_pressure_mpa - 8.0))
                ram_at.setdefault("cure", r.ram_position_mm)
            if r.cycle_state is CycleState.FILL:
                ram_at["fill"] = r.ram_position_mm
            if r.cycle_state is CycleState.IDLE:
                ram_at.setdefault("done", r.ram_position_mm)
                ram_at.setdefault("clamp_after", r.clamp_force_kn)

        run(plant, CYCLE_S + 1, check)
        assert worst["clamp"] < 1.0
        assert worst["pressure"] < 0.05
        assert ram_at["fill"] == pytest.approx(nodes.FULL_STROKE_MM)
        assert ram_at["cure"] == pytest.approx(nodes.FULL_STROKE_MM)
        assert ram_at["done"] == 0.0
        assert ram_at["clamp_after"] < 1.0

    def test_start_waits_for_mold_temperature(self) -> None:
        """Start with the platens 10 °C off: production start-up, idle, until both are within
        ±3 °C; then cycle 1 begins by itself. Job time runs from Start."""
        plant = PressPlant(seed=1)
        plant.load_job(dataclasses.replace(JOB, mold_temp_c=185.0))
        plant.start()
        r = plant.readings()
        assert (r.job_status, r.production_status, r.cycle_state) == (
            JobStatus.IN_PRODUCTION, ProductionStatus.START_UP, CycleState.IDLE,
        )  # fmt: skip
        run(plant, 5)
        assert plant.readings().cycle_state is CycleState.IDLE
        began: list[PressReadings] = []

        def track(r: PressReadings) -> None:
            if r.current_cycle == 1 and not began:
                began.append(r)

        run(plant, 120, track)
        assert began, "cycle 1 never began"
        r = began[0]
        assert r.production_status is ProductionStatus.PRODUCTION
        assert 10 < r.job_time_s - r.cycle_time_s < 120  # heating time, counted as job time
        assert all(abs(t - 185.0) <= 3.0 for t in plant.state.platen_c)


class TestTruth:
    def test_each_cycle_records_alpha_tg_and_emc_history(self) -> None:
        """Per cycle: α at mold open ≈ 0.856 (10 s fill + 90 s cure at 175 °C with the EMC's
        3-s lag), Tg by DiBenedetto, a temperature history from 25 °C every second."""
        plant = started()
        run(plant, 2 * CYCLE_S + 1)
        records = plant.cycle_truth()
        assert [c.cycle for c in records] == [1, 2]
        for c in records:
            assert c.completed and c.good and c.alarm_bits == 0
            assert c.alpha_end == pytest.approx(0.856, abs=0.005)
            assert c.tg_end_c == pytest.approx(emc.glass_transition_c(emc.DEFAULT, c.alpha_end))
            times = [t for t, _ in c.emc_history]
            assert times[0] == 0.0 and times[-1] == pytest.approx(100.0)
            assert len(times) == 101
            assert c.emc_history[0][1] == 25.0
            assert c.emc_history[5][1] == pytest.approx(175.0, abs=30.0)
            assert c.emc_history[-1][1] == pytest.approx(175.0, abs=0.1)
            assert c.fill_start_job_time_s == pytest.approx(c.start_job_time_s + CLAMP_S)
            assert c.ram_end_of_fill_mm == pytest.approx(nodes.FULL_STROKE_MM)

    def test_alpha_agrees_with_integrating_the_recorded_history(self) -> None:
        """Integrating physics.emc over the recorded EMC temperatures reproduces α_end."""
        plant = started(dataclasses.replace(JOB, cycles=1))
        run(plant, CYCLE_S + 1)
        (c,) = plant.cycle_truth()
        alpha = 0.0
        for (t0, temp0), (t1, temp1) in zip(c.emc_history, c.emc_history[1:], strict=False):
            alpha = emc.step(emc.DEFAULT, alpha, 0.5 * (temp0 + temp1), t1 - t0)
        assert alpha == pytest.approx(c.alpha_end, abs=0.003)

    def test_truth_does_not_depend_on_how_time_is_sliced(self) -> None:
        """The same job advanced in 0.013-s and in 7-s slices ends with the same α."""
        a, b = started(), started()
        for _ in range(round(2 * CYCLE_S / 0.013) + 100):
            a.advance(0.013)
        for _ in range(round(2 * CYCLE_S / 7) + 2):
            b.advance(7.0)
        alphas_a = [c.alpha_end for c in a.cycle_truth()]
        alphas_b = [c.alpha_end for c in b.cycle_truth()]
        assert alphas_a == pytest.approx(alphas_b, abs=1e-9)

    def test_longer_cure_gives_higher_alpha_but_stalls(self) -> None:
        """Fill 10 s + CureTime 110 s → α ≈ 0.88; 600 s → below 0.95 (vitrification, DOMAIN.md)."""
        short = started(dataclasses.replace(JOB, cure_time_s=110.0, cycles=1))
        long = started(dataclasses.replace(JOB, cure_time_s=600.0, cycles=1))
        run(short, 140)
        run(long, 630)
        assert short.cycle_truth()[0].alpha_end == pytest.approx(0.88, abs=0.01)
        assert long.cycle_truth()[0].alpha_end < 0.95


class TestCommands:
    def test_out_of_range_job_is_refused_naming_argument_and_limit(self) -> None:
        """LoadJob with MoldTemperature 250 raises InvalidArgumentError naming it and 20..200;
        nothing changes."""
        plant = PressPlant(seed=1)
        with pytest.raises(InvalidArgumentError, match=r"MoldTemperature must be 20\.\.200 °C"):
            plant.load_job(dataclasses.replace(JOB, mold_temp_c=250.0))
        assert plant.job is None and plant.job_status is JobStatus.NO_JOB

    @pytest.mark.parametrize(
        ("change", "argument"),
        [
            ({"name": ""}, "Name"),
            ({"clamp_force_kn": -1.0}, "ClampForce"),
            ({"transfer_pressure_mpa": 20.5}, "TransferPressure"),
            ({"fill_time_s": 0.5}, "FillTime"),
            ({"cure_time_s": float("nan")}, "CureTime"),
            ({"cycles": 26}, "Cycles"),
            ({"run_id": -1}, "RunId"),
        ],
    )
    def test_every_limit_is_checked(self, change: dict[str, object], argument: str) -> None:
        """Each argument outside its nodes.LIMITS range is refused with its own name."""
        plant = PressPlant(seed=1)
        with pytest.raises(InvalidArgumentError) as info:
            plant.load_job(dataclasses.replace(JOB, **change))  # type: ignore[arg-type]
        assert info.value.argument == argument
        assert str(info.value).startswith(argument)

    def test_load_while_producing_and_start_twice_are_invalid_state(self) -> None:
        """A job in production refuses LoadJob, Start and Reset; the job carries on."""
        plant = started()
        run(plant, 10)
        for action in (lambda: plant.load_job(JOB), plant.start, plant.reset):
            with pytest.raises(InvalidStateError):
                action()
        assert plant.readings().job_status is JobStatus.IN_PRODUCTION

    def test_start_needs_a_set_up_job(self) -> None:
        """Start with no job, or after the job finished, is refused."""
        plant = PressPlant(seed=1)
        with pytest.raises(InvalidStateError, match="no job loaded"):
            plant.start()
        plant = started(dataclasses.replace(JOB, cycles=1))
        run(plant, CYCLE_S + 1)
        with pytest.raises(InvalidStateError, match="finished"):
            plant.start()

    def test_abort_interrupts_and_does_not_count_the_cycle(self) -> None:
        """Abort mid-cure: JobStatus interrupted, the cycle recorded as not completed and not
        counted, the mold opens; job time stops."""
        plant = started()
        run(plant, CYCLE_S + 50)
        plant.abort()
        run(plant, 10)
        r = plant.readings()
        assert r.job_status is JobStatus.INTERRUPTED
        assert (r.cycles, r.good_cycles, r.bad_cycles) == (1, 1, 0)
        assert (r.cycle_state, r.current_cycle) == (CycleState.IDLE, 0)
        assert r.job_time_s == pytest.approx(CYCLE_S + 50, abs=0.1)
        assert r.ram_position_mm == 0.0 and r.clamp_force_kn < 1.0
        last = plant.cycle_truth()[-1]
        assert (last.cycle, last.completed, last.good) == (2, False, False)
        assert 0.5 < last.alpha_end < 0.85
        plant.abort()  # nothing in production: a no-op
        assert plant.readings().job_status is JobStatus.INTERRUPTED

    def test_reset_clears_job_counters_and_latched_alarms(self) -> None:
        """Reset after a faulted job: no job, counters 0, alarm bits 0, a 'cleared' event."""
        plant = started(dataclasses.replace(JOB, cycles=1), faults=("short_fill",))
        run(plant, CYCLE_S + 1)
        plant.drain_events()
        assert plant.readings().alarm_bits == nodes.ALARM_SHORT_FILL
        plant.reset()
        r = plant.readings()
        assert (r.job_status, r.run_id, r.cycles, r.alarm_bits) == (JobStatus.NO_JOB, 0, 0, 0)
        assert r.job is None
        assert plant.drain_events() == [
            AlarmEvent(nodes.ALARM_SHORT_FILL, False, "short fill cleared")
        ]
        assert plant.cycle_truth() == ()
