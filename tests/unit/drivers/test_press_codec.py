"""Press jobs to LoadJob arguments and process values to snapshots (pure functions)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from drivers.core.errors import GarbledResponse
from drivers.core.press import CycleState, JobStatus, PressJob
from drivers.molding_press import nodes
from drivers.molding_press.codec import (
    alarm_from_message,
    decode_snapshot,
    job_problems,
    load_job_arguments,
)
from tests.unit.drivers.fakes import image


def job(**overrides: Any) -> PressJob:
    fields: dict[str, Any] = {
        "name": "muf-175",
        "run_id": 17,
        "mold_temp_c": 175.0,
        "clamp_force_kn": 800.0,
        "transfer_pressure_mpa": 8.0,
        "fill_time_s": 10.0,
        "cure_time_s": 90.0,
        "cycles": 25,
    }
    fields.update(overrides)
    return PressJob(**fields)


class TestJobValidation:
    def test_limits_are_inclusive(self) -> None:
        """A job at every lower and every upper limit is valid."""
        low = {f: nodes.LIMITS[a][0] for f, a in _FIELDS.items()}
        high = {f: nodes.LIMITS[a][1] for f, a in _FIELDS.items()}
        assert job_problems(job(**low)) == []
        assert job_problems(job(**high)) == []

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("mold_temp_c", 201.0, "mold_temp_c (MoldTemperature) = 201 °C outside 20..200 °C"),
            ("clamp_force_kn", -1.0, "clamp_force_kn (ClampForce) = -1 kN outside 0..2000 kN"),
            ("transfer_pressure_mpa", 25.0, "= 25 MPa outside 0..20 MPa"),
            ("fill_time_s", 0.5, "fill_time_s (FillTime) = 0.5 s outside 1..120 s"),
            ("cure_time_s", math.nan, "cure_time_s (CureTime) = nan s outside 1..1800 s"),
            ("cycles", 26, "cycles (Cycles) = 26 outside 1..25"),
            ("cycles", 2.0, "cycles (Cycles) must be an integer 1..25, got 2.0"),
            ("run_id", -1, "run_id must be an integer 0..4294967295, got -1"),
            ("run_id", 2**32, "run_id must be an integer"),
            ("name", "", "name must be 1..64 characters"),
            ("name", "x" * 65, "name must be 1..64 characters"),
            ("name", "bad\nname", "name must be printable characters"),
            ("mold_temp_c", True, "must be a number"),
        ],
    )
    def test_each_limit_named(self, field: str, value: Any, message: str) -> None:
        """Every out-of-limit field is reported with its name, value and limit."""
        problems = job_problems(job(**{field: value}))
        assert len(problems) == 1
        assert message in problems[0]

    def test_all_problems_at_once(self) -> None:
        assert len(job_problems(job(mold_temp_c=0.0, cycles=0, fill_time_s=500.0))) == 3

    def test_load_job_arguments_typed_in_order(self) -> None:
        """LoadJob's arguments in the documented order with their wire types."""
        args = load_job_arguments(job(clamp_force_kn=800))
        assert [a.type for a in args] == [
            "String",
            "UInt32",
            "Double",
            "Double",
            "Double",
            "Double",
            "Double",
            "Int32",
        ]
        assert [a.value for a in args] == ["muf-175", 17, 175.0, 800.0, 8.0, 10.0, 90.0, 25]
        assert isinstance(args[3].value, float)


_FIELDS = {
    "mold_temp_c": "MoldTemperature",
    "clamp_force_kn": "ClampForce",
    "transfer_pressure_mpa": "TransferPressure",
    "fill_time_s": "FillTime",
    "cure_time_s": "CureTime",
    "cycles": "Cycles",
}


class TestDecodeSnapshot:
    def test_decodes_a_process_image(self) -> None:
        snap = decode_snapshot(image(), "PRESS-01")
        assert snap.job_status is JobStatus.IN_PRODUCTION
        assert snap.cycle_state is CycleState.CURE
        assert snap.production_status == 3
        assert snap.current_cycle == 2
        assert snap.job_time_s == 110.5
        assert snap.ram_position_mm == 50.0

    @pytest.mark.parametrize(
        ("node", "value", "message"),
        [
            (nodes.JOB_STATUS.node, 7, "Press.Status.JobStatus = 7 is not a documented value"),
            (nodes.CYCLE_STATE.node, -1, "Press.Status.CycleState = -1 is not a documented"),
            (nodes.PRODUCTION_STATUS.node, 4, "ProductionStatus = 4 is not a documented"),
            (nodes.ALARM_BITS.node, 0x10, "AlarmBits = 0x10 has undocumented bits"),
            (nodes.RUN_ID.node, -5, "Press.Status.RunId = -5 is not a UInt32"),
            (nodes.CYCLES.node, 1.5, "Press.Counters.Cycles = 1.5 is not a UInt32"),
            (nodes.PLATEN_TOP.node, "hot", "PlatenTopTemperature = 'hot' is not a number"),
            (nodes.CLAMP_FORCE.node, None, "ClampForce = None is not a number"),
            (nodes.CURRENT_CYCLE.node, -2, "CurrentCycle = -2 < 0"),
            (nodes.JOB_STATUS.node, True, "is not a Int32"),
        ],
    )
    def test_garbled_values_named(self, node: str, value: Any, message: str) -> None:
        """An undocumented enum value, a wrong type or an unknown alarm bit is garbled."""
        with pytest.raises(GarbledResponse, match=r"^PRESS-01: ") as info:
            decode_snapshot(image(**{node: value}), "PRESS-01")
        assert message in str(info.value)

    def test_wrong_count_is_garbled(self) -> None:
        with pytest.raises(GarbledResponse, match="expected 17 process values, got 16"):
            decode_snapshot(image()[:-1])

    def test_documented_alarm_bits_pass(self) -> None:
        snap = decode_snapshot(image(**{nodes.ALARM_BITS.node: 0b111}))
        assert snap.alarm_bits == 7


def test_alarm_from_message() -> None:
    assert alarm_from_message("short fill: ram stopped at 35 mm") == nodes.ALARM_SHORT_FILL
    assert alarm_from_message("platen heater failure cleared") == nodes.ALARM_PLATEN_HEATER
    assert alarm_from_message("door open") == 0
