"""Which of an idle tool's own alarms say it cannot take a lot."""

from __future__ import annotations

from drivers.core.oven import OvenAlarm, OvenSnapshot, ProgramState
from drivers.core.plater import CellSnapshot, CellState, PlaterAlarm, PlaterSnapshot
from drivers.core.press import CycleState, JobStatus, PressAlarm, PressSnapshot
from mes.daemon.idle import AlarmMemory, oven_reading, plater_reading, press_reading


def oven(bits: int) -> OvenSnapshot:
    return OvenSnapshot(ProgramState.IDLE, -1, 0.0, 25.0, (25.0, 25.1), 4.0, 50.0, False, bits, 0)


def press(bits: int) -> PressSnapshot:
    return PressSnapshot(
        JobStatus.NO_JOB, 0, CycleState.IDLE, bits, 0, 0.0, 0.0, 0, 0, 0, 0, 0.0,
        175.0, 175.0, 0.0, 0.0, 0.0,
    )  # fmt: skip


def plater(bath_bits: int, cell_bits: int) -> PlaterSnapshot:
    cell = CellSnapshot(2, CellState.IDLE, "", 0, 0, 0.0, 0.0, 0.0, 0.0, cell_bits)
    return PlaterSnapshot(22.0, 300.0, 10.0, bath_bits, (cell,))


def test_oven_alarms_but_an_open_door() -> None:
    reading = oven(OvenAlarm.HEATER_FAILURE | OvenAlarm.DOOR_OPEN | OvenAlarm.N2_LOW)
    assert oven_reading(reading).alarms == {
        "heater_failure": "heater failure",
        "n2_low": "n2 low",
    }
    assert oven_reading(oven(OvenAlarm.DOOR_OPEN)).alarms == {}
    assert oven_reading(oven(0)).values["zone2_c"] == 25.1


def test_press_platen_heater_but_not_cycle_events() -> None:
    bits = PressAlarm.PLATEN_HEATER | PressAlarm.SHORT_FILL | PressAlarm.PRESSURE_LOSS
    assert press_reading(press(bits)).alarms == {"platen_heater": "platen heater"}
    assert press_reading(press(PressAlarm.SHORT_FILL)).alarms == {}


def test_plater_bath_and_rectifier_but_not_contact() -> None:
    reading = plater_reading(plater(PlaterAlarm.BATH_OVERTEMP, PlaterAlarm.RECTIFIER_TRIP))
    assert reading.alarms == {
        "bath_overtemp": "bath over temperature",
        "rectifier_trip_2": "rectifier trip on cell 2",
    }
    assert plater_reading(plater(0, PlaterAlarm.CONTACT)).alarms == {}
    assert reading.values["bath_temp_c"] == 22.0


def test_an_alarm_is_raised_once_while_it_lasts() -> None:
    memory = AlarmMemory(clear_s=60.0)
    assert memory.new("OVEN-01", {"heater_failure"}, 0.0) == ["heater_failure"]
    assert memory.new("OVEN-01", {"heater_failure"}, 1.0) == []
    assert memory.new("OVEN-01", {"heater_failure", "n2_low"}, 2.0) == ["n2_low"]
    assert memory.new("OVEN-02", {"heater_failure"}, 2.0) == ["heater_failure"]  # per tool


def test_a_flapping_alarm_is_raised_once_and_again_after_a_real_clear() -> None:
    memory = AlarmMemory(clear_s=60.0)
    assert memory.new("T", {"n2_low"}, 0.0) == ["n2_low"]
    for t in range(1, 50):  # on and off every second: the same occurrence
        assert memory.new("T", {"n2_low"} if t % 2 else set(), float(t)) == []
    assert memory.new("T", set(), 100.0) == []  # clear for 51 s ... still remembered
    assert memory.new("T", set(), 110.0) == []  # clear for 61 s: forgotten
    assert memory.new("T", {"n2_low"}, 111.0) == ["n2_low"]


def test_forgetting_a_tool_raises_what_is_still_on_again() -> None:
    """A run on the tool, or its lease elsewhere, in between."""
    memory = AlarmMemory()
    assert memory.new("T", {"overtemp"}, 0.0) == ["overtemp"]
    memory.forget("T")
    assert memory.new("T", {"overtemp"}, 1.0) == ["overtemp"]
