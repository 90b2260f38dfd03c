"""Sample names of a plater snapshot, and the way back from stored samples to snapshots.

Besides what operators watch (bath, and each cell's current and voltage), every
sample records each cell's set-point, tool job time, state, alarm bits and which
wafer of the run it carries (its index in the run's wafer list). That is what a
supervisor re-attaching to the run after a daemon restart replays to rebuild each
wafer's charge integral, the wafers already finished and the excursions seen.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from drivers.core.plater import CellSnapshot, CellState, PlaterSnapshot
from mes.engine.recorder import StoredSample, by_time

BATH_TEMP = "bath_temp_c"
BATH_AH = "bath_ah"
_CELL = re.compile(r"cell(\d+)_current_a")


def cell_name(cell: int, what: str) -> str:
    """Sample name of `what` (current_a, voltage_v, setpoint_a, job_s, state, alarms, wafer)."""
    return f"cell{cell}_{what}"


def published(snap: PlaterSnapshot) -> dict[str, float | None]:
    """What operators see live: bath temperature and amp-hours, each cell's current."""
    values: dict[str, float | None] = {BATH_TEMP: snap.bath_temp_c, BATH_AH: snap.bath_amp_hours}
    for c in snap.cells:
        values[cell_name(c.cell, "current_a")] = c.current_a
        values[cell_name(c.cell, "voltage_v")] = c.voltage_v
    return values


def to_values(
    snap: PlaterSnapshot, run_id: int, wafer_ids: Sequence[str]
) -> dict[str, float | None]:
    """Everything recorded for one poll (see the module docstring)."""
    values = published(snap)
    for c in snap.cells:
        ours = c.run_id == run_id and c.wafer_id in wafer_ids
        values[cell_name(c.cell, "setpoint_a")] = c.current_setpoint_a
        values[cell_name(c.cell, "job_s")] = c.job_time_s
        values[cell_name(c.cell, "state")] = float(c.state)
        values[cell_name(c.cell, "alarms")] = float(c.alarm_bits)
        values[cell_name(c.cell, "wafer")] = float(wafer_ids.index(c.wafer_id)) if ours else None
    return values


def from_stored(
    rows: Iterable[StoredSample], run_id: int, wafer_ids: Sequence[str]
) -> list[tuple[float, PlaterSnapshot]]:
    """Rebuild (run time, snapshot) pairs in time order from stored samples.

    A cell whose state was not recorded (samples written before these channels
    existed) is left out of its snapshot, so a replay never invents a wafer.
    """
    out = []
    for t, v in by_time(rows):
        cells = []
        for n in sorted(int(m.group(1)) for k in v if (m := _CELL.fullmatch(k))):
            cell = _cell(n, v, run_id, wafer_ids)
            if cell is not None:
                cells.append(cell)
        bath = v.get(BATH_TEMP)
        out.append(
            (
                t,
                PlaterSnapshot(
                    math.nan if bath is None else bath,
                    0.0,
                    v.get(BATH_AH) or 0.0,
                    0,
                    tuple(cells),
                ),
            )
        )
    return out


def _cell(
    n: int, v: dict[str, float | None], run_id: int, wafer_ids: Sequence[str]
) -> CellSnapshot | None:
    state, job_s = v.get(cell_name(n, "state")), v.get(cell_name(n, "job_s"))
    if state is None or job_s is None:
        return None
    try:
        cell_state = CellState(int(state))
    except (ValueError, OverflowError):  # not a state, or not even a finite number
        return None
    index = v.get(cell_name(n, "wafer"))
    wafer = wafer_ids[int(index)] if index is not None and 0 <= index < len(wafer_ids) else ""
    return CellSnapshot(
        cell=n,
        state=cell_state,
        wafer_id=wafer,
        run_id=run_id if wafer else 0,
        step=0,
        job_time_s=job_s,
        current_setpoint_a=v.get(cell_name(n, "setpoint_a")) or 0.0,
        current_a=v.get(cell_name(n, "current_a")) or 0.0,
        voltage_v=v.get(cell_name(n, "voltage_v")) or 0.0,
        alarm_bits=int(v.get(cell_name(n, "alarms")) or 0),
    )
