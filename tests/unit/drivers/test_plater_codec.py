"""Plating jobs to LoadJob arguments and tool values to snapshots (pure functions)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from drivers.core.errors import DriverError, GarbledResponse
from drivers.core.plater import CellState, PlaterAlarm, PlatingStep
from drivers.plater import nodes
from drivers.plater.codec import (
    InvalidJob,
    decode_snapshot,
    job_problems,
    load_job_arguments,
    snapshot_nodes,
)

STEPS = (PlatingStep(10.0, 60.0), PlatingStep(25.0, 300.0))


def problems(**overrides: Any) -> list[str]:
    fields: dict[str, Any] = {
        "wafer_id": "W-0001",
        "run_id": 17,
        "steps": STEPS,
        "ramp_s": 5.0,
    }
    fields.update(overrides)
    return job_problems(**fields)


def image(cells: int = nodes.CELLS, **overrides: Any) -> list[Any]:
    """Values in snapshot_nodes(cells) order; overrides by plain node id."""
    values: dict[str, Any] = {
        "Plater.Bath.Temperature": 25.0,
        "Plater.Bath.Agitation": 60.0,
        "Plater.Bath.AmpHours": 12.5,
        "Plater.Bath.AlarmBits": 0,
    }
    for k in range(1, cells + 1):
        values.update(
            {
                f"Plater.Cell{k}.State": 2,
                f"Plater.Cell{k}.WaferId": f"W-{k}",
                f"Plater.Cell{k}.RunId": 100 + k,
                f"Plater.Cell{k}.Step": 1,
                f"Plater.Cell{k}.JobTime": 70.0,
                f"Plater.Cell{k}.CurrentSetpoint": 25.0,
                f"Plater.Cell{k}.Current": 24.9,
                f"Plater.Cell{k}.Voltage": 3.1,
                f"Plater.Cell{k}.AlarmBits": 0,
            }
        )
    values.update(overrides)
    return [values[node] for node, _ in snapshot_nodes(cells)]


class TestJobValidation:
    def test_a_good_job_passes(self) -> None:
        assert problems() == []

    def test_limits_are_inclusive(self) -> None:
        lo_i, hi_i = nodes.LIMITS["Current"]
        lo_t, hi_t = nodes.LIMITS["Duration"]
        lo_r, hi_r = nodes.LIMITS["RampS"]
        low = [PlatingStep(lo_i, lo_t)]
        high = [PlatingStep(hi_i, hi_t)] * nodes.MAX_STEPS
        assert problems(steps=low, ramp_s=lo_r) == []
        assert problems(steps=high, ramp_s=hi_r) == []
        assert problems(wafer_id="x" * 64, run_id=0xFFFF_FFFF) == []

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("steps", [], "steps: 0 steps outside 1..8"),
            ("steps", [PlatingStep(1.0, 10.0)] * 9, "steps: 9 steps outside 1..8"),
            ("steps", "abc", "steps must be a sequence of 1..8 PlatingStep"),
            ("steps", [(1.0, 10.0)], "steps[0] must be a PlatingStep, got (1.0, 10.0)"),
            (
                "steps",
                [PlatingStep(10.0, 60.0), PlatingStep(250.0, 60.0)],
                "steps[1].current_a (Currents[1]) = 250 A outside 0..200 A",
            ),
            (
                "steps",
                [PlatingStep(-1.0, 60.0)],
                "steps[0].current_a (Currents[0]) = -1 A outside 0..200 A",
            ),
            (
                "steps",
                [PlatingStep(10.0, 0.5)],
                "steps[0].duration_s (Durations[0]) = 0.5 s outside 1..7200 s",
            ),
            (
                "steps",
                [PlatingStep(10.0, math.nan)],
                "steps[0].duration_s (Durations[0]) = nan s outside 1..7200 s",
            ),
            (
                "steps",
                [PlatingStep(True, 10.0)],  # type: ignore[arg-type]
                "steps[0].current_a (Currents[0]) must be a number 0..200 A, got True",
            ),
            ("ramp_s", 121.0, "ramp_s (RampS) = 121 s outside 0..120 s"),
            ("ramp_s", math.inf, "ramp_s (RampS) = inf s outside 0..120 s"),
            ("ramp_s", "5", "ramp_s (RampS) must be a number 0..120 s, got '5'"),
            ("run_id", -1, "run_id (RunId) must be an integer 0..4294967295, got -1"),
            ("run_id", 2**32, "run_id (RunId) must be an integer"),
            ("run_id", 3.0, "run_id (RunId) must be an integer"),
            ("wafer_id", "", "wafer_id must be 1..64 characters"),
            ("wafer_id", "x" * 65, "wafer_id must be 1..64 characters"),
            ("wafer_id", "bad\tid", "wafer_id must be printable characters"),
            ("wafer_id", 7, "wafer_id must be 1..64 characters, got 7"),
        ],
    )
    def test_each_limit_named(self, field: str, value: Any, message: str) -> None:
        """Every out-of-limit field is reported with its name, value and limit."""
        got = problems(**{field: value})
        assert len(got) == 1, got
        assert message in got[0]

    def test_all_problems_at_once(self) -> None:
        got = problems(
            wafer_id="",
            run_id=-3,
            steps=[PlatingStep(300.0, 0.0), PlatingStep(10.0, 9000.0)],
            ramp_s=-1.0,
        )
        assert len(got) == 6, got

    def test_invalid_job_is_a_driver_error_and_a_value_error(self) -> None:
        assert issubclass(InvalidJob, DriverError)
        assert issubclass(InvalidJob, ValueError)


class TestLoadJobArguments:
    def test_typed_in_order_with_double_arrays(self) -> None:
        args = load_job_arguments("W-1", 9, [PlatingStep(10, 60), PlatingStep(25.5, 300)], 5)
        assert [a.type for a in args] == ["String", "UInt32", "Double", "Double", "Double"]
        assert [a.value for a in args] == ["W-1", 9, [10.0, 25.5], [60.0, 300.0], 5.0]
        assert all(isinstance(x, float) for x in args[2].value + args[3].value)
        assert isinstance(args[4].value, float)


class TestDecodeSnapshot:
    def test_layout_is_bath_then_each_cell(self) -> None:
        layout = [node for node, _ in snapshot_nodes(2)]
        assert layout[:4] == [
            "Plater.Bath.Temperature",
            "Plater.Bath.Agitation",
            "Plater.Bath.AmpHours",
            "Plater.Bath.AlarmBits",
        ]
        assert layout[4] == "Plater.Cell1.State"
        assert layout[-1] == "Plater.Cell2.AlarmBits"
        assert len(layout) == len(nodes.BATH_VARS) + 2 * len(nodes.CELL_VARS)

    def test_decodes_bath_and_cells(self) -> None:
        snap = decode_snapshot(
            image(**{"Plater.Cell2.State": 3, "Plater.Cell2.Step": -1}), 2, "PLATER-01"
        )
        assert snap.bath_temp_c == 25.0
        assert snap.agitation_rpm == 60.0
        assert snap.bath_amp_hours == 12.5
        assert snap.bath_alarm_bits == 0
        assert [c.cell for c in snap.cells] == [1, 2]
        one, two = snap.cells
        assert one.state is CellState.PLATING
        assert (one.wafer_id, one.run_id, one.step) == ("W-1", 101, 1)
        assert (one.current_setpoint_a, one.current_a, one.voltage_v) == (25.0, 24.9, 3.1)
        assert one.job_time_s == 70.0
        assert two.state is CellState.DONE
        assert two.step == -1

    def test_integer_doubles_become_floats(self) -> None:
        snap = decode_snapshot(image(**{"Plater.Cell1.Current": 0}))
        assert isinstance(snap.cells[0].current_a, float)

    def test_other_cell_counts(self) -> None:
        snap = decode_snapshot(image(cells=3), 3)
        assert [c.cell for c in snap.cells] == [1, 2, 3]

    def test_documented_alarm_bits_pass(self) -> None:
        snap = decode_snapshot(
            image(**{"Plater.Cell1.AlarmBits": 0b11, "Plater.Bath.AlarmBits": 0b100})
        )
        assert snap.cells[0].alarm_bits & PlaterAlarm.CONTACT
        assert snap.cells[0].alarm_bits & PlaterAlarm.RECTIFIER_TRIP
        assert snap.bath_alarm_bits == PlaterAlarm.BATH_OVERTEMP

    @pytest.mark.parametrize(
        ("node", "value", "message"),
        [
            ("Plater.Cell1.State", 6, "Plater.Cell1.State = 6 is not a documented value"),
            ("Plater.Cell2.State", -1, "Plater.Cell2.State = -1 is not a documented value"),
            ("Plater.Cell1.AlarmBits", 0x4, "Plater.Cell1.AlarmBits = 0x4 has undocumented"),
            ("Plater.Cell2.AlarmBits", 0x100, "Plater.Cell2.AlarmBits = 0x100 has undocumented"),
            ("Plater.Bath.AlarmBits", 0x1, "Plater.Bath.AlarmBits = 0x1 has undocumented bits"),
            ("Plater.Cell1.Step", -2, "Plater.Cell1.Step = -2 outside -1..7"),
            ("Plater.Cell1.Step", 8, "Plater.Cell1.Step = 8 outside -1..7"),
            ("Plater.Cell1.RunId", -5, "Plater.Cell1.RunId = -5 is not a UInt32"),
            ("Plater.Cell1.State", True, "Plater.Cell1.State = True is not a Int32"),
            ("Plater.Cell1.Current", "high", "Plater.Cell1.Current = 'high' is not a number"),
            ("Plater.Bath.Temperature", None, "Plater.Bath.Temperature = None is not a number"),
            ("Plater.Cell2.WaferId", 12, "Plater.Cell2.WaferId = 12 is not a string"),
        ],
    )
    def test_garbled_values_named(self, node: str, value: Any, message: str) -> None:
        """An undocumented enum value, a wrong type or an unknown alarm bit is garbled."""
        with pytest.raises(GarbledResponse, match=r"^PLATER-01: ") as info:
            decode_snapshot(image(**{node: value}), 2, "PLATER-01")
        assert message in str(info.value)

    def test_wrong_count_is_garbled(self) -> None:
        with pytest.raises(GarbledResponse, match=r"expected 22 values .* got 21"):
            decode_snapshot(image()[:-1])
