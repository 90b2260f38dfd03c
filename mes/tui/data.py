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


@dataclass(frozen=True)
class Trend:
    """PV per zone and the set-point of one run, against program time (s)."""

    tool_id: str
    run_id: int | None
    lot_id: str | None
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    band: list[reads.BandPoint] = field(default_factory=list)


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
    """Blocking: read tools, lots, alarms and the trend of `trend_tool`'s run."""
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
    tool = next((t for t in tools if t.id == tool_id), None)
    if tool is None:
        return None
    if tool.run_id is None:
        return Trend(tool.id, None, None)
    zones = zone_names(tool.values) or [f"zone{z}_c" for z in range(1, _DEFAULT_ZONES + 1)]
    series = reads.trend(engine, tool.run_id, [SETPOINT, *zones])
    return Trend(
        tool.id,
        tool.run_id,
        tool.lot_id,
        {k: v for k, v in series.items() if v},
        reads.band(engine, tool.run_id),
    )
