"""Wafer history rows, written in the caller's transaction next to its audit record."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from mes.services.lookup import load_route
from mes.store.tables import Audit, Lot, Run, WaferEvent, as_utc


def step_name(session: Session, lot: Lot) -> str:
    route = load_route(session, lot.route)
    if lot.step_index >= len(route.steps):
        return "-"
    return route.step(lot.step_index).name


def record(
    session: Session,
    wafer_ids: Iterable[str],
    lot: Lot,
    event: str,
    actor: str,
    detail: str | None = None,
    *,
    step: str | None = None,
) -> None:
    where = step if step is not None else step_name(session, lot)
    session.add_all(
        WaferEvent(wafer_id=w, lot_id=lot.id, step=where, event=event, actor=actor, detail=detail)
        for w in wafer_ids
    )


def events(session: Session, wafer_id: str) -> list[WaferEvent]:
    return list(
        session.exec(
            select(WaferEvent)
            .where(WaferEvent.wafer_id == wafer_id)
            .order_by(col(WaferEvent.ts), col(WaferEvent.id))
        )
    )


MOVES = ("lot.track_in", "lot.track_out")


def moves(
    session: Session, stays: list[tuple[str, datetime, datetime | None]], wafer_id: str
) -> list[WaferEvent]:
    """A wafer's track-ins, track-outs and tool runs, read from its lots' audit records and
    runs while it was in them (not stored per wafer: every move would write 25 rows)."""
    out: list[WaferEvent] = []
    for lot_id, start, end in stays:
        lot = session.get(Lot, lot_id)
        if lot is None:
            continue
        route = load_route(session, lot.route)
        q = select(Audit).where(
            Audit.entity == "lot",
            Audit.entity_id == lot_id,
            col(Audit.action).in_(MOVES),
            col(Audit.ts) >= start,
        )
        runs = select(Run).where(
            Run.lot_id == lot_id, col(Run.ended_at).is_not(None), col(Run.ended_at) >= start
        )
        if end is not None:
            q = q.where(col(Audit.ts) < end)
            runs = runs.where(col(Run.ended_at) < end)
        for a in session.exec(q):
            index = json.loads(a.before_json or "{}").get("step_index", 0)
            out.append(
                WaferEvent(
                    wafer_id=wafer_id,
                    ts=as_utc(a.ts),
                    lot_id=lot_id,
                    step=route.steps[index].name if index < len(route.steps) else "-",
                    event=a.action.removeprefix("lot."),
                    actor=a.actor,
                    detail=_run_detail(a.after_json),
                )
            )
        for r in session.exec(runs):
            assert r.ended_at is not None
            out.append(
                WaferEvent(
                    wafer_id=wafer_id,
                    ts=as_utc(r.ended_at),
                    lot_id=lot_id,
                    step=r.step,
                    event="run",
                    actor=r.claimed_by or r.requested_by,
                    detail=f"run {r.id} on {r.tool_id}, {r.recipe_name} v{r.recipe_version}: "
                    f"{r.outcome or r.status}",
                )
            )
    return out


def _run_detail(after_json: str | None) -> str | None:
    after = json.loads(after_json or "{}")
    if "run_id" in after:
        return f"run {after['run_id']} ({after.get('recipe', '')})"
    return None
