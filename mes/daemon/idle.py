"""What an idle tool reports: live values for operators, and the alarms of its own that
say it cannot take a lot.

A tool alarm raised while no run is on the tool takes it from standby to unscheduled
down (`services.tools.down_on_alarm`, SEMI E10: an unplanned failure) until someone has
looked. Only alarms about the tool itself count here: an oven's open door is loading, a
press's short fill or pressure loss belongs to a cycle, a plater's contact failure to a
wafer; during a run the run's own supervision judges every alarm.

Each alarm is raised once while it lasts (`AlarmMemory`): a person who looked may set the
tool back to standby while a latched alarm is still on. An alarm must stay clear for
CLEAR_S before its return counts as new (a flapping N2 switch raises it once), and the
memory of a tool is dropped while a run is on it or its lease is elsewhere, so an alarm
still on afterwards (or found by a daemon that just took the tool) is raised again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
CLEAR_S = 60.0  # s an alarm must stay clear before it counts as new when it returns


@dataclass
class AlarmMemory:
    """Which idle alarms of each tool were raised, and when each was last seen on."""

    clear_s: float = CLEAR_S
    _seen: dict[str, dict[str, float]] = field(default_factory=dict)

    def new(self, tool_id: str, active: set[str], now: float) -> list[str]:
        """The codes in `active` to raise now; remembers all of `active` as seen at `now`."""
        seen = self._seen.setdefault(tool_id, {})
        for code in [c for c, t in seen.items() if c not in active and now - t >= self.clear_s]:
            del seen[code]
        fresh = sorted(active - seen.keys())
        for code in active:
            seen[code] = now
        return fresh

    def forget(self, tool_id: str) -> None:
        """A run on the tool, or its lease elsewhere: its alarms will be raised afresh."""
        self._seen.pop(tool_id, None)


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
