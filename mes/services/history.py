"""Wafer history rows, written in the caller's transaction next to its audit record."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from mes.services.lookup import load_route
from mes.store.tables import Lot, WaferEvent


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
