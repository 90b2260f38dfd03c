"""Loading lots, routes, wafers and holds inside a transaction, with clear NotFound errors."""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from mes.domain.errors import InvalidInput, NotFound
from mes.domain.routes import Route, parse_route
from mes.store.tables import Hold, Lot, Wafer
from mes.store.tables import Route as RouteRow


def wafer_id(lot_id: str, slot: int) -> str:
    """Wafer ids are the lot id and the carrier slot at creation: L001-W07. A wafer keeps
    its id when it moves to another lot by a split or merge."""
    return f"{lot_id}-W{slot:02d}"


def lot_snapshot(lot: Lot) -> dict[str, object]:
    return {"status": lot.status, "step_index": lot.step_index, "tool_id": lot.tool_id}


def load_route(session: Session, name: str) -> Route:
    row = session.get(RouteRow, name)
    if row is None:
        raise NotFound(f"route {name!r} does not exist (import it with 'pkgline route import')")
    return parse_route(row.name, json.loads(row.steps_json))


def get_lot(session: Session, lot_id: str, *, lock: bool = False) -> Lot:
    """The lot; `lock` holds its row until commit (SELECT … FOR UPDATE on PostgreSQL;
    SQLite's transactions already hold the write lock), so a concurrent change waits."""
    lot = session.get(Lot, lot_id, with_for_update=lock or None, populate_existing=lock)
    if lot is None:
        raise NotFound(f"lot {lot_id!r} does not exist")
    return lot


def active_holds(session: Session, lot_id: str) -> list[Hold]:
    return list(
        session.exec(
            select(Hold)
            .where(Hold.lot_id == lot_id, col(Hold.released_at).is_(None))
            .order_by(col(Hold.id))
        )
    )


def lot_wafers(session: Session, lot_id: str, *, active_only: bool = True) -> list[Wafer]:
    q = select(Wafer).where(Wafer.lot_id == lot_id).order_by(col(Wafer.slot))
    if active_only:
        q = q.where(Wafer.status == "active")
    return list(session.exec(q))


def resolve_wafers(session: Session, lot_id: str, names: list[str]) -> list[Wafer]:
    """Wafers of `lot_id` named by id (L001-W03) or by slot (3); an unknown name is an error."""
    if not names:
        raise InvalidInput("wafers: name at least one wafer (id or slot)")
    wafers = lot_wafers(session, lot_id)
    by_id = {w.id: w for w in wafers}
    by_slot = {str(w.slot): w for w in wafers}
    out: list[Wafer] = []
    for name in names:
        w = by_id.get(name) or by_slot.get(name.strip().lstrip("0") or "0")
        if w is None:
            raise InvalidInput(f"wafer {name!r} is not an active wafer of lot {lot_id}")
        if w not in out:
            out.append(w)
    return out


def hold_wafers(hold: Hold) -> list[str] | None:
    return None if hold.wafer_ids_json is None else list(json.loads(hold.wafer_ids_json))
