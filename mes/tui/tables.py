"""The three tables of the main screen; each refresh keeps the cursor on the same row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from statistics import fmean
from typing import ClassVar

from rich.text import Text
from textual.widgets import DataTable

from mes.services.reads import LotRow, ToolRow
from mes.store.tables import Alarm
from mes.tui.data import SETPOINT, zone_names

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
        ("sp", "SP °C"),
        ("pv_mean", "PV mean"),
        ("pv_min", "PV min"),
        ("pv_max", "PV max"),
        ("o2", "O2 ppm"),
        ("n2", "N2 l/min"),
    )

    def show(self, tools: Sequence[ToolRow]) -> None:
        self.sync([(t.id, tool_cells(t)) for t in tools])


def tool_cells(tool: ToolRow) -> list[Cell]:
    v = tool.values
    zones = [x for x in (v.get(z) for z in zone_names(v)) if x is not None]
    mean, low, high = (fmean(zones), min(zones), max(zones)) if zones else (None, None, None)
    online = Text("online", style="green") if tool.online else Text("offline", style="red")
    e10 = Text(tool.e10_state, style=E10_STYLE.get(tool.e10_state, ""))
    return [
        tool.id,
        tool.type,
        e10,
        online,
        _or_none(tool.lot_id),
        _or_none(tool.run_id),
        _num(v.get(SETPOINT)),
        _num(mean),
        _num(low),
        _num(high),
        _num(v.get("o2_ppm"), 0),
        _num(v.get("n2_lpm")),
    ]


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
