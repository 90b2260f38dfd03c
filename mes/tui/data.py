"""What one refresh of the screen reads, in one blocking call run off the event loop."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from mes.services import reads, users
from mes.store.tables import Alarm

ALARM_LIMIT = 100
SETPOINT = "sp_c"
_ZONE = re.compile(r"^zone(\d+)_c$")
# When a tool has published no values yet, ask the trend for this many zones.
_DEFAULT_ZONES = 8


_CELL = re.compile(r"^cell(\d+)_current_a$")
_DEFAULT_CELLS = 2
PLATENS = ("platen_top_c", "platen_bottom_c")


@dataclass(frozen=True)
class Trend:
    """One run's process values against its time axis (s): an oven's zones and set-point,
    a press's platens, a plater's cell currents."""

    tool_id: str
    run_id: int | None
    lot_id: str | None
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    band: list[reads.BandPoint] = field(default_factory=list)
    unit: str = "°C"
    axis: str = "program time (min)"


@dataclass(frozen=True)
class Snapshot:
    """Everything the main screen shows, read in one go."""

    tools: list[reads.ToolRow]
    lots: list[reads.LotRow]
    # Tool type a lot's current step needs; None for a manual step.
    step_tool_type: dict[str, str | None]
    alarms: list[Alarm]
    trend: Trend | None
    actor_known: bool


def zone_names(values: dict[str, float | None]) -> list[str]:
    """Zone sample names in zone order ("zone1_c", "zone2_c", ...)."""
    found = [(int(m.group(1)), k) for k in values if (m := _ZONE.match(k))]
    return [k for _, k in sorted(found)]


def load_snapshot(engine: Engine, actor: str, trend_tool: str | None) -> Snapshot:
    """Blocking: read tools, lots, alarms and the trend of `trend_tool`'s run (None: the
    first tool, where the cursor starts)."""
    tools = reads.tools(engine)
    lots = reads.lots(engine, include_finished=False)
    return Snapshot(
        tools=tools,
        lots=lots,
        step_tool_type=_step_tool_types(lots),
        alarms=reads.alarms(engine, limit=ALARM_LIMIT),
        trend=_trend(engine, tools, trend_tool),
        actor_known=users.exists(engine, actor),
    )


def _step_tool_types(lots: list[reads.LotRow]) -> dict[str, str | None]:
    return {lot.id: lot.tool_type for lot in lots}


def _trend(engine: Engine, tools: list[reads.ToolRow], tool_id: str | None) -> Trend | None:
    # No tool under the cursor yet (the first read fills the table): the cursor will sit on
    # the first row, so read that tool's trend now rather than in a second read.
    wanted = tool_id if tool_id is not None else (tools[0].id if tools else None)
    tool = next((t for t in tools if t.id == wanted), None)
    if tool is None:
        return None
    if tool.run_id is None:
        return Trend(tool.id, None, None)
    unit, axis = "°C", "program time (min)"
    if tool.type == "molding_press":
        names = list(PLATENS)
    elif tool.type == "plating_tool":
        names = cell_names(tool.values) or [
            f"cell{c}_current_a" for c in range(1, _DEFAULT_CELLS + 1)
        ]
        unit, axis = "A", "run time (min)"
    else:
        zones = zone_names(tool.values) or [f"zone{z}_c" for z in range(1, _DEFAULT_ZONES + 1)]
        names = [SETPOINT, *zones]
    series = reads.trend(engine, tool.run_id, names)
    return Trend(
        tool.id,
        tool.run_id,
        tool.lot_id,
        {k: v for k, v in series.items() if v},
        reads.band(engine, tool.run_id),
        unit,
        axis,
    )


def cell_names(values: dict[str, float | None]) -> list[str]:
    """A plater's cell current names in cell order ("cell1_current_a", ...)."""
    found = [(int(m.group(1)), k) for k in values if (m := _CELL.match(k))]
    return [k for _, k in sorted(found)]


def series_label(name: str) -> str:
    """What the trend's legend calls a series: zone1, top, cell2, ..."""
    if name.startswith("platen_"):
        return name.removeprefix("platen_").removesuffix("_c")
    return name.removesuffix("_current_a").removesuffix("_c")
