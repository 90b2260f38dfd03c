"""Read models for the TUI and the CLI: plain rows, no ORM objects escape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from mes.services.lots import load_route
from mes.services.tx import transaction
from mes.store.tables import Alarm, Hold, Lot, Recipe, Run, Sample, Tool
from recipes.loader import parse_oven_recipe
from recipes.profile import segment_at, setpoint_at, total_duration_s


@dataclass(frozen=True)
class LotRow:
    id: str
    product: str
    route: str
    step: str
    step_index: int
    steps: int
    status: str
    wafers: int
    tool_id: str | None
    hold_reason: str | None
    step_since: datetime
    tool_type: str | None = None  # the tool type the current step runs on; None: manual

    @property
    def on_hold(self) -> bool:
        return self.hold_reason is not None


@dataclass(frozen=True)
class ToolRow:
    id: str
    type: str
    e10_state: str
    online: bool
    run_id: int | None
    lot_id: str | None
    lease_owner: str | None
    values: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRow:
    id: int
    lot_id: str
    tool_id: str
    step: str
    recipe: str
    status: str
    outcome: str | None
    reason: str | None
    samples: int
    started_at: datetime | None
    ended_at: datetime | None
    summary: dict[str, object]


def lots(engine: Engine, include_finished: bool = True) -> list[LotRow]:
    with transaction(engine) as s:
        q = select(Lot).order_by(col(Lot.id))
        if not include_finished:
            q = q.where(Lot.status != "finished")
        out = []
        holds: dict[str, str] = {}
        for h in s.exec(select(Hold).where(col(Hold.released_at).is_(None)).order_by(col(Hold.id))):
            holds[h.lot_id] = h.reason  # the latest active hold's reason shows
        routes = {}
        for lot in s.exec(q):
            if lot.route not in routes:
                routes[lot.route] = load_route(s, lot.route)
            route = routes[lot.route]
            out.append(
                LotRow(
                    lot.id,
                    lot.product,
                    lot.route,
                    route.step(lot.step_index).name,
                    lot.step_index,
                    len(route.steps),
                    lot.status,
                    lot.wafers,
                    lot.tool_id,
                    holds.get(lot.id),
                    lot.step_since,
                    route.step(lot.step_index).tool_type,
                )
            )
        return out


def lot(engine: Engine, lot_id: str) -> LotRow | None:
    return next((r for r in lots(engine) if r.id == lot_id), None)


def tools(engine: Engine) -> list[ToolRow]:
    with transaction(engine) as s:
        out = []
        for t in s.exec(select(Tool).order_by(col(Tool.id))):
            lot_id = None
            if t.run_id is not None:
                run = s.get(Run, t.run_id)
                lot_id = run.lot_id if run else None
            values = json.loads(t.last_values_json) if t.last_values_json else {}
            out.append(
                ToolRow(
                    t.id, t.type, t.e10_state, t.online, t.run_id, lot_id, t.lease_owner, values
                )
            )
        return out


def alarms(engine: Engine, limit: int = 50, lot_id: str | None = None) -> list[Alarm]:
    with transaction(engine) as s:
        q = select(Alarm).order_by(col(Alarm.id).desc()).limit(limit)
        if lot_id is not None:
            q = q.where(Alarm.lot_id == lot_id)
        return list(s.exec(q))


def holds(engine: Engine, lot_id: str) -> list[Hold]:
    with transaction(engine) as s:
        return list(s.exec(select(Hold).where(Hold.lot_id == lot_id).order_by(col(Hold.id))))


def runs(engine: Engine, lot_id: str | None = None) -> list[RunRow]:
    with transaction(engine) as s:
        counts = dict(
            s.exec(select(Sample.run_id, func.count()).group_by(col(Sample.run_id))).all()
        )
        q = select(Run).order_by(col(Run.id))
        if lot_id is not None:
            q = q.where(Run.lot_id == lot_id)
        out = []
        for r in s.exec(q):
            assert r.id is not None
            out.append(
                RunRow(
                    r.id,
                    r.lot_id,
                    r.tool_id,
                    r.step,
                    f"{r.recipe_name} v{r.recipe_version}",
                    r.status,
                    r.outcome,
                    r.reason,
                    int(counts.get(r.id, 0)),
                    r.started_at,
                    r.ended_at,
                    json.loads(r.summary_json) if r.summary_json else {},
                )
            )
        return out


def trend(
    engine: Engine, run_id: int, names: list[str], max_points: int = 400
) -> dict[str, list[tuple[float, float]]]:
    """Series (t_program, value) per sample name for one run, thinned to `max_points`."""
    series: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    with transaction(engine) as s:
        q = (
            select(Sample.name, Sample.t_program, Sample.value)
            .where(Sample.run_id == run_id, col(Sample.name).in_(names))
            .order_by(col(Sample.t_program))
        )
        for name, t, v in s.exec(q):
            if v is not None:
                series[name].append((t, v))
    for name, points in series.items():
        if len(points) > max_points:
            stride = -(-len(points) // max_points)
            thinned = points[::stride]
            if thinned[-1] != points[-1]:
                thinned.append(points[-1])
            series[name] = thinned
    return series


@dataclass(frozen=True)
class BandPoint:
    t_program: float
    setpoint_c: float
    band_c: float


def band(engine: Engine, run_id: int, points: int = 200) -> list[BandPoint]:
    """The recipe's set-point and tolerance band over a run's program (for the trend)."""
    with transaction(engine) as s:
        run = s.get(Run, run_id)
        if run is None or run.start_c is None:
            return []
        start_c = run.start_c
        recipe_row = s.exec(
            select(Recipe).where(
                Recipe.name == run.recipe_name, Recipe.version == run.recipe_version
            )
        ).first()
    if recipe_row is None or recipe_row.kind != "oven":  # a press or plater run has no profile
        return []
    recipe = parse_oven_recipe(recipe_row.body, recipe_row.name)
    total = total_duration_s(recipe, start_c)
    out = []
    for i in range(points + 1):
        t = total * i / points
        seg = recipe.segments[segment_at(recipe, t, start_c)]
        out.append(BandPoint(t, setpoint_at(recipe, t, start_c), seg.band_c))
    return out
