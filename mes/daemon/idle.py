"""What an idle tool reports: live values for operators, and the alarms of its own that
say it cannot take a lot.

A tool alarm raised while no run is on the tool takes it from standby to unscheduled
down (`services.tools.down_on_alarm`, SEMI E10: an unplanned failure) until someone has
looked. Only alarms about the tool itself count here: an oven's open door is loading, a
press's short fill or pressure loss belongs to a cycle, a plater's contact failure to a
wafer; during a run the run's own supervision judges every alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.core.oven import OvenAlarm, OvenSnapshot
from drivers.core.plater import PlaterAlarm, PlaterSnapshot
from drivers.core.press import PressAlarm, PressSnapshot
from mes.engine.oven.values import to_values as oven_values
from mes.engine.plating.values import published as plater_values
from mes.engine.press.supervisor import to_values as press_values

OVEN_DOWN = (
    OvenAlarm.HEATER_FAILURE,
    OvenAlarm.THERMOCOUPLE_OPEN,
    OvenAlarm.N2_LOW,
    OvenAlarm.OVERTEMP,
)
PRESS_DOWN = (PressAlarm.PLATEN_HEATER,)


@dataclass(frozen=True)
class IdleReading:
    values: dict[str, float | None]
    alarms: dict[str, str]  # code → what an operator reads


def _text(flag: OvenAlarm | PressAlarm) -> str:
    return (flag.name or "alarm").lower().replace("_", " ")


def oven_reading(snap: OvenSnapshot) -> IdleReading:
    alarms = {(f.name or "").lower(): _text(f) for f in OVEN_DOWN if snap.alarm_bits & f}
    return IdleReading(oven_values(snap) | {"t_program": snap.program_time_s}, alarms)


def press_reading(snap: PressSnapshot) -> IdleReading:
    alarms = {(f.name or "").lower(): _text(f) for f in PRESS_DOWN if snap.alarm_bits & f}
    return IdleReading(press_values(snap) | {"t_program": snap.job_time_s}, alarms)


def plater_reading(snap: PlaterSnapshot) -> IdleReading:
    alarms = {}
    if snap.bath_alarm_bits & PlaterAlarm.BATH_OVERTEMP:
        alarms["bath_overtemp"] = PlaterAlarm.BATH_OVERTEMP.text
    for cell in snap.cells:
        if cell.alarm_bits & PlaterAlarm.RECTIFIER_TRIP:
            alarms[f"rectifier_trip_{cell.cell}"] = (
                f"{PlaterAlarm.RECTIFIER_TRIP.text} on cell {cell.cell}"
            )
    return IdleReading(plater_values(snap), alarms)
