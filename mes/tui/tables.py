"""The three tables of the main screen; each refresh keeps the cursor on the same row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from statistics import fmean
from typing import ClassVar

from rich.text import Text
from textual.widgets import DataTable

from mes.domain.equipment import PRESS_CYCLE_STAGES
from mes.services.reads import LotRow, ToolRow
from mes.store.tables import Alarm
from mes.tui.data import SETPOINT, cell_names, zone_names

Cell = str | Text
Row = tuple[str, list[Cell]]  # (row key, cells in column order)
NONE = "—"


class SyncTable(DataTable[Cell]):
    """A row-cursor table that is re-filled from read models without losing its place."""

    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = ()  # (column key, label)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

    def watch_virtual_size(self) -> None:
        # DataTable measures new rows on idle and then sets the virtual size, but it does
        # not drop the lines it rendered before that measure: a header drawn in between
        # keeps the old column widths over rows drawn with the new ones. New widths mean
        # every cached line is stale.
        self.notify_style_update()
        self.refresh()

    @property
    def selected_key(self) -> str | None:
        """Key of the row under the cursor, or None for an empty table."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def sync(self, rows: Sequence[Row]) -> None:
        """Show `rows`; same rows in the same order are updated in place (no flicker)."""
        current = [r.key.value for r in self.ordered_rows]
        if current == [key for key, _ in rows]:
            for key, cells in rows:
                old = self.get_row(key)
                for (col, _), new, was in zip(self.COLUMNS, cells, old, strict=True):
                    if new != was:
                        self.update_cell(key, col, new, update_width=True)
            return
        selected, index = self.selected_key, self.cursor_row
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        keys = [key for key, _ in rows]
        if selected in keys:
            self.move_cursor(row=keys.index(selected), animate=False)
        elif rows:
            self.move_cursor(row=min(index, len(rows) - 1), animate=False)


def _num(value: float | None, digits: int = 1) -> str:
    return NONE if value is None else f"{value:.{digits}f}"


def _or_none(value: object) -> str:
    return NONE if value is None else str(value)


class ToolsTable(SyncTable):
    COLUMNS = (
        ("id", "Tool"),
        ("type", "Type"),
        ("e10", "E10 state"),
        ("online", "Online"),
        ("lot", "Lot"),
        ("run", "Run"),
        ("temp", "Temperature °C"),
        ("process", "Process"),
    )

    def show(self, tools: Sequence[ToolRow]) -> None:
        self.sync([(t.id, tool_cells(t)) for t in tools])


def tool_cells(tool: ToolRow) -> list[Cell]:
    online = Text("online", style="green") if tool.online else Text("offline", style="red")
    e10 = Text(tool.e10_state, style=E10_STYLE.get(tool.e10_state, ""))
    temp, process = LIVE.get(tool.type, _no_values)(tool.values)
    return [
        tool.id,
        tool.type,
        e10,
        online,
        _or_none(tool.lot_id),
        _or_none(tool.run_id),
        temp,
        process,
    ]


Values = dict[str, float | None]


def _no_values(_v: Values) -> tuple[str, str]:
    return NONE, NONE


def _oven_values(v: Values) -> tuple[str, str]:
    """Zones' mean (min–max) against the set-point; the atmosphere."""
    zones = [x for x in (v.get(z) for z in zone_names(v)) if x is not None]
    temp = NONE
    if zones:
        temp = f"{fmean(zones):.1f} ({min(zones):.1f}–{max(zones):.1f})"
        if v.get(SETPOINT) is not None:
            temp += f" SP {_num(v.get(SETPOINT))}"
    process = _joined(("O2", v.get("o2_ppm"), "ppm", 0), ("N2", v.get("n2_lpm"), "l/min", 1))
    return temp, process


def _press_values(v: Values) -> tuple[str, str]:
    """Top / bottom platen; the cycle and its stage, clamp force, transfer pressure."""
    top, bottom = v.get("platen_top_c"), v.get("platen_bottom_c")
    temp = NONE if top is None and bottom is None else f"{_num(top)} / {_num(bottom)}"
    cycle, stage = v.get("current_cycle"), v.get("cycle_state")
    parts = []
    if cycle is not None:
        parts.append(f"cycle {cycle:.0f} {press_stage(stage)}".rstrip())
    parts.append(
        _joined(
            ("clamp", v.get("clamp_force_kn"), "kN", 0),
            ("", v.get("transfer_pressure_mpa"), "MPa", 1),
        )
    )
    return temp, " · ".join(p for p in parts if p != NONE) or NONE


def _plater_values(v: Values) -> tuple[str, str]:
    """The bath; each cell's current, the bath's amp-hours."""
    temp = _num(v.get("bath_temp_c"))
    cells = [(k.removesuffix("_current_a"), v.get(k)) for k in cell_names(v)]
    parts = [f"{name} {_num(a, 2)} A" for name, a in cells]
    if v.get("bath_ah") is not None:
        parts.append(f"bath {_num(v.get('bath_ah'))} Ah")
    return temp, " · ".join(parts) or NONE


def _joined(*fields: tuple[str, float | None, str, int]) -> str:
    shown = [
        f"{label} {value:.{digits}f} {unit}".strip()
        for label, value, unit, digits in fields
        if value is not None
    ]
    return " · ".join(shown) or NONE


def press_stage(value: float | None) -> str:
    """The cycle stage a press publishes as a number, by name ('' when unknown)."""
    if value is None or not 0 <= value < len(PRESS_CYCLE_STAGES):
        return ""
    return PRESS_CYCLE_STAGES[int(value)]


LIVE = {"cure_oven": _oven_values, "molding_press": _press_values, "plating_tool": _plater_values}


E10_STYLE = {
    "productive": "green",
    "standby": "",
    "engineering": "cyan",
    "scheduled_down": "yellow",
    "unscheduled_down": "bold red",
    "non_scheduled": "dim",
}


class LotsTable(SyncTable):
    COLUMNS = (
        ("id", "Lot"),
        ("step", "Step"),
        ("status", "Status"),
        ("wafers", "Wafers"),
        ("tool", "Tool"),
        ("hold", "Hold reason"),
    )

    def show(self, lots: Sequence[LotRow]) -> None:
        self.sync([(lot.id, lot_cells(lot)) for lot in lots])


def lot_cells(lot: LotRow) -> list[Cell]:
    status = Text("on hold", style="bold red") if lot.on_hold else Text(lot.status)
    if not lot.on_hold and lot.status == "running":
        status.stylize("green")
    return [
        lot.id,
        f"{lot.step} ({lot.step_index + 1}/{lot.steps})",
        status,
        str(lot.wafers),
        _or_none(lot.tool_id),
        Text(lot.hold_reason, style="red") if lot.hold_reason else "",
    ]


class AlarmsTable(SyncTable):
    COLUMNS = (
        ("ts", "Time (UTC)"),
        ("tool", "Tool"),
        ("lot", "Lot"),
        ("run", "Run"),
        ("t", "Program t"),
        ("kind", "Kind"),
        ("code", "Code"),
        ("message", "Message"),
    )

    def show(self, alarms: Sequence[Alarm]) -> None:
        self.sync([(str(a.id), alarm_cells(a)) for a in alarms])


def alarm_cells(alarm: Alarm) -> list[Cell]:
    return [
        _timestamp(alarm.ts),
        alarm.tool_id,
        _or_none(alarm.lot_id),
        _or_none(alarm.run_id),
        NONE if alarm.t_program is None else program_time(alarm.t_program),
        Text(alarm.kind, style=KIND_STYLE.get(alarm.kind, "")),
        alarm.code,
        alarm.message,
    ]


KIND_STYLE = {"excursion": "bold red", "tool": "red", "comm": "yellow", "gap": "yellow"}


def _timestamp(ts: datetime) -> str:
    return ts.strftime("%m-%d %H:%M:%S")


def program_time(seconds: float) -> str:
    """Program time as h:mm:ss (a 4 h cure reads 4:00:00)."""
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
