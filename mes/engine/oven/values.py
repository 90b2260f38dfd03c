"""Sample names of an oven snapshot, and the way back from stored samples to snapshots."""

from __future__ import annotations

import math
from collections.abc import Iterable

from drivers.core.oven import OvenSnapshot, ProgramState
from mes.engine.recorder import StoredSample, by_time

SETPOINT = "sp_c"
O2 = "o2_ppm"
N2 = "n2_lpm"


def zone_name(zone: int) -> str:
    """Sample name of zone `zone` (1-based)."""
    return f"zone{zone}_c"


def to_values(snap: OvenSnapshot) -> dict[str, float | None]:
    values: dict[str, float | None] = {
        SETPOINT: snap.setpoint_c,
        O2: snap.o2_ppm,
        N2: snap.n2_flow_lpm,
    }
    for z, t in enumerate(snap.zones_c, start=1):
        values[zone_name(z)] = None if math.isnan(t) else t
    return values


def from_stored(rows: Iterable[StoredSample], run_id: int) -> list[OvenSnapshot]:
    """Rebuild snapshots from stored samples so a re-attached checker can replay them."""
    out = []
    for t, v in by_time(rows):
        zones = []
        z = 1
        while zone_name(z) in v:
            val = v[zone_name(z)]
            zones.append(math.nan if val is None else val)
            z += 1
        out.append(
            OvenSnapshot(
                state=ProgramState.RUNNING,
                segment=-1,
                program_time_s=t,
                setpoint_c=_or(v.get(SETPOINT), math.nan),
                zones_c=tuple(zones),
                o2_ppm=_or(v.get(O2), 0.0),
                n2_flow_lpm=_or(v.get(N2), 0.0),
                door_open=False,
                alarm_bits=0,
                run_id=run_id,
            )
        )
    return out


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
