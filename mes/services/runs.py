"""Equipment-side transactions: claim run requests, record alarms and samples, finish runs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from mes.domain.equipment import E10State
from mes.domain.errors import LeaseFenced, NotFound
from mes.domain.holds import HoldCode
from mes.domain.roles import Permission
from mes.services import audit, ledger, plating
from mes.services.auth import authorize
from mes.services.holds import place_hold
from mes.services.ledger import CureRecord, WaferCureInput
from mes.services.lots import (
    RunStatus,
    advance,
    get_lot,
    load_route,
    lot_snapshot,
    timed_step_started,
)
from mes.services.plating import WaferPlating
from mes.services.tools import change_state, down_on_alarm, lease_is_live
from mes.services.tx import transaction
from mes.store.tables import (
    Alarm,
    Lot,
    Material,
    Recipe,
    Run,
    Sample,
    Tool,
    Wafer,
    utcnow,
)
from recipes.muf import parse_muf_recipe
from recipes.plating import parse_plating_recipe


@dataclass(frozen=True)
class RunTicket:
    """What a daemon needs to execute or re-attach to a run."""

    run_id: int
    lot_id: str
    tool_id: str
    recipe_name: str
    recipe_version: int
    recipe_body: str
    start_c: float | None
    status: str
    recipe_kind: str = "oven"
    wafer_ids: tuple[str, ...] = ()  # the lot's active wafers, by slot (a press cycle each)
    material_name: str | None = None  # for a molding run: the EMC grade
    material_body: str | None = None
    cure_inputs: tuple[WaferCureInput, ...] = ()  # for an oven run: each molded wafer's state
    eta: float | None = None  # for a plating run: the tool's learned current efficiency
    started_at: datetime | None = None  # when the run started (UTC), for a re-attach


def _ticket(s: Session, run: Run) -> RunTicket:
    recipe = s.exec(
        select(Recipe).where(Recipe.name == run.recipe_name, Recipe.version == run.recipe_version)
    ).one()
    assert run.id is not None
    wafer_ids = tuple(
        w.id
        for w in s.exec(
            select(Wafer)
            .where(Wafer.lot_id == run.lot_id, Wafer.status == "active")
            .order_by(col(Wafer.slot))
        )
    )
    material_name = material_body = None
    cure_inputs: tuple[WaferCureInput, ...] = ()
    eta = None
    if recipe.kind == "plating":
        eta = plating.current_eta(s, run.tool_id, parse_plating_recipe(recipe.body).efficiency.eta)
    elif recipe.kind == "muf":
        muf = parse_muf_recipe(recipe.body, f"{recipe.name} v{recipe.version}")
        material = s.get(Material, muf.material)
        material_name = muf.material
        material_body = material.body if material else None
    else:  # an oven run: every molded wafer cures on
        targets = {}
        for mold in ledger.mold_recipes_of(s, run.lot_id):
            muf = parse_muf_recipe(mold.body, f"{mold.name} v{mold.version}")
            if muf.pmc_recipe == run.recipe_name:
                targets[mold.name] = muf.targets.alpha_after_pmc
        cure_inputs = tuple(ledger.inputs_for(s, run.lot_id, run.recipe_name, targets))
    return RunTicket(
        run.id,
        run.lot_id,
        run.tool_id,
        run.recipe_name,
        run.recipe_version,
        recipe.body,
        run.start_c,
        run.status,
        recipe.kind,
        wafer_ids,
        material_name,
        material_body,
        cure_inputs,
        eta,
        run.started_at,
    )


def claim(engine: Engine, actor: str, tool_ids: Sequence[str]) -> list[RunTicket]:
    """Claim requested runs on these tools (atomic: a run is claimed once)."""
    if not tool_ids:
        return []
    out = []
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.RUN_EXECUTE)
        runs = s.exec(
            select(Run).where(col(Run.tool_id).in_(tool_ids), Run.status == RunStatus.REQUESTED)
        ).all()
        for run in runs:
            result = s.execute(
                update(Run)
                .where(col(Run.id) == run.id, col(Run.status) == RunStatus.REQUESTED)
                .values(status=RunStatus.RUNNING, claimed_by=actor)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                s.refresh(run)
                out.append(_ticket(s, run))
                audit.record(
                    s,
                    actor,
                    "run.claim",
                    "run",
                    str(run.id),
                    before={"status": RunStatus.REQUESTED},
                    after={"status": RunStatus.RUNNING, "claimed_by": actor},
                )
    return out


def open_runs(engine: Engine, tool_ids: Sequence[str]) -> list[RunTicket]:
    """Runs in flight on these tools, for re-attaching after a restart."""
    with transaction(engine) as s:
        runs = s.exec(
            select(Run).where(col(Run.tool_id).in_(tool_ids), Run.status == RunStatus.RUNNING)
        ).all()
        return [_ticket(s, r) for r in runs]


def _fence(s: Session, tool_id: str, lease_owner: str | None) -> Tool:
    """The run's tool, its row locked; with `lease_owner`, refused unless that daemon still
    holds a live lease in the database (a daemon paused past its lease writes nothing)."""
    tool = s.get(Tool, tool_id, with_for_update=True, populate_existing=True)
    assert tool is not None
    if lease_owner is not None and not lease_is_live(tool, lease_owner):
        why = (
            f"{tool_id}: the lease of {lease_owner} expired"
            if tool.lease_owner == lease_owner
            else f"{tool_id} is leased by {tool.lease_owner or 'nobody'}, not {lease_owner}"
        )
        raise LeaseFenced(f"tool {why}: its runs are no longer this daemon's to write")
    return tool


def mark_started(
    engine: Engine, actor: str, run_id: int, start_c: float, lease_owner: str | None = None
) -> None:
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.RUN_EXECUTE)
        run = _run(s, run_id)
        tool = _fence(s, run.tool_id, lease_owner)
        run.started_at = utcnow()
        run.start_c = start_c
        timed_step_started(s, get_lot(s, run.lot_id), run.step)
        before = {"e10_state": tool.e10_state}
        change_state(s, tool, E10State.PRODUCTIVE, actor, f"run {run_id} started", run_id)
        s.add_all([run, tool])
        audit.record(
            s,
            actor,
            "run.start",
            "run",
            str(run_id),
            before=before,
            after={"e10_state": tool.e10_state, "start_c": round(start_c, 2)},
        )


def _run(s: Any, run_id: int, *, lock: bool = False) -> Run:
    """The run; `lock` holds its row to commit, so a second close of it waits and then
    finds it closed (two daemons, or a daemon that lost its lease, never both close it)."""
    run = s.get(Run, run_id, with_for_update=lock or None, populate_existing=lock)
    if run is None:
        raise NotFound(f"run {run_id} does not exist")
    assert isinstance(run, Run)
    return run


def record_alarm(
    engine: Engine,
    actor: str,
    *,
    tool_id: str,
    kind: str,
    code: str,
    message: str,
    run_id: int | None = None,
    lot_id: str | None = None,
    t_program: float | None = None,
) -> None:
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.RUN_EXECUTE)
        s.add(
            Alarm(
                tool_id=tool_id,
                run_id=run_id,
                lot_id=lot_id,
                kind=kind,
                code=code,
                message=message,
                t_program=t_program,
            )
        )
        audit.record(
            s,
            actor,
            "alarm",
            "tool",
            tool_id,
            reason=message,
            after={"code": code, "run_id": run_id, "t_program": t_program},
        )
        if kind == "tool" and run_id is None:
            down_on_alarm(s, actor, tool_id, f"alarm {code}: {message}")


@dataclass(frozen=True)
class Verdict:
    """The engine's decision at the end of a run."""

    passed: bool
    reasons: list[str]
    summary: dict[str, Any]
    aborted: bool = False
    cures: list[CureRecord] = field(default_factory=list)
    platings: list[WaferPlating] = field(default_factory=list)
    qtime_h: float | None = None  # on track-out: the next step must start within this


def finish(
    engine: Engine, actor: str, run_id: int, verdict: Verdict, lease_owner: str | None = None
) -> Lot:
    """Close a run: track the lot out to its next step, or hold it with the reasons.
    With `lease_owner`, only while that daemon holds the tool's lease (see `_fence`)."""
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.RUN_EXECUTE)
        run = _run(s, run_id, lock=True)
        if run.status != RunStatus.RUNNING:
            raise NotFound(f"run {run_id} is {run.status}, not running")
        lot = get_lot(s, run.lot_id, lock=True)
        tool = _fence(s, run.tool_id, lease_owner)
        before = lot_snapshot(lot)
        run.status = RunStatus.ABORTED if verdict.aborted else RunStatus.COMPLETED
        run.ended_at = utcnow()
        run.outcome = "tracked_out" if verdict.passed else "held"
        run.reason = "; ".join(verdict.reasons) or None
        run.summary_json = json.dumps(verdict.summary, default=str)
        tool.run_id = None
        change_state(
            s,
            tool,
            E10State.UNSCHEDULED_DOWN if verdict.aborted else E10State.STANDBY,
            actor,
            f"run {run_id} {'aborted' if verdict.aborted else 'ended'}",
            run_id,
        )
        ledger.write_entries(s, run, verdict.cures)
        plating.write_records(s, run, verdict.platings, tool)
        if verdict.passed:
            advance(s, lot)
            if verdict.qtime_h is not None:
                lot.qtime_deadline = utcnow() + timedelta(hours=verdict.qtime_h)
                lot.qtime_step = load_route(s, lot.route).step(lot.step_index).name
                s.add(lot)
        else:
            lot.status = "waiting"
            lot.tool_id = None
            s.add(lot)
            code = HoldCode.EQUIPMENT if verdict.aborted else HoldCode.QUALITY
            place_hold(s, actor, lot.id, run.reason or "run failed", run_id=run_id, code=code)
        s.add_all([run, tool])
        audit.record(
            s,
            actor,
            "run.finish",
            "run",
            str(run_id),
            reason=run.reason,
            before=before,
            after=lot_snapshot(lot) | {"outcome": run.outcome, "run_status": run.status},
        )
        return lot


SampleRow = tuple[int, float, datetime, str, float | None]


def write_samples(engine: Engine, rows: Sequence[SampleRow]) -> int:
    """Bulk insert, never ORM objects per row (DESIGN.md, Performance).

    SQLite takes the rows through the driver's own executemany (the Core path
    spends most of its time converting each row's timestamp); PostgreSQL through
    COPY (about 3x Core's executemany); other engines through Core executemany.
    """
    if not rows:
        return 0
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            _copy_samples(conn, rows)
        return len(rows)
    if engine.dialect.name == "sqlite":
        payload = list(_sqlite_rows(rows))
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO sample (run_id, t_program, ts, name, value) VALUES (?, ?, ?, ?, ?)",
                payload,
            )
        return len(payload)
    dicts = [
        {"run_id": r, "t_program": t, "ts": ts, "name": n, "value": v} for r, t, ts, n, v in rows
    ]
    with engine.begin() as conn:
        conn.execute(insert(Sample), dicts)
    return len(dicts)


def _sqlite_rows(rows: Sequence[SampleRow]) -> Iterator[tuple[int, float, str, str, float | None]]:
    """Timestamps as SQLAlchemy stores them in SQLite (UTC text). The values of one snapshot
    share its timestamp object, so each is converted once (the conversion is most of the cost).
    """
    last: datetime | None = None
    text = ""
    for r, t, ts, n, v in rows:
        if ts is not last:
            last, text = ts, ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        yield r, t, text, n, v


_COPY_SAMPLES = "COPY sample (run_id, t_program, ts, name, value) FROM STDIN"


def _copy_samples(conn: Connection, rows: Sequence[SampleRow]) -> None:
    """COPY the rows on the transaction's own psycopg connection, failing as Core would.

    Core refuses a naive timestamp (the column stores aware UTC) before sending
    anything, and raises every failure as a SQLAlchemy error, which the daemon's
    sample buffer catches to keep the rows for its next attempt; so here too.
    An aware timestamp goes as it is: timestamptz stores the instant, whatever the offset.
    """
    dbapi = conn.dialect.loaded_dbapi
    naive = next((row[2] for row in rows if row[2].utcoffset() is None), None)
    if naive is not None:
        refused = ValueError(f"sample ts {naive!r}: must carry a timezone (UTC)")
        raise DBAPIError.instance(_COPY_SAMPLES, None, refused, dbapi.Error, dialect=conn.dialect)
    raw = conn.connection
    driver: Any = raw.driver_connection  # a psycopg.Connection (the optional postgres extra)
    try:
        with driver.cursor() as cur, cur.copy(_COPY_SAMPLES) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, raw, None)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            _COPY_SAMPLES,
            None,
            exc,
            dbapi.Error,
            connection_invalidated=lost,
            dialect=conn.dialect,
        ) from exc


def samples_of(engine: Engine, run_id: int) -> list[Sample]:
    with transaction(engine) as s:
        return list(
            s.exec(
                select(Sample)
                .where(Sample.run_id == run_id)
                .order_by(col(Sample.t_program), col(Sample.id))
            )
        )
