"""Loading lots, routes, wafers and holds inside a transaction, with clear NotFound errors."""

from __future__ import annotations

import json
from functools import lru_cache

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from mes.domain.errors import InvalidInput, NotFound
from mes.domain.routes import Route, parse_route
from mes.store.tables import Hold, Lot, LotLink, Wafer
from mes.store.tables import Route as RouteRow

# Core statements for the lookups every lot move makes (cheaper than the ORM path).
_ROUTES = RouteRow.__table__  # type: ignore[attr-defined]
_HOLDS = Hold.__table__  # type: ignore[attr-defined]
_ROUTE_STEPS = sa_select(_ROUTES.c.steps_json).where(_ROUTES.c.name == bindparam("name"))
_HELD = (
    sa_select(_HOLDS.c.id)
    .where(_HOLDS.c.lot_id == bindparam("lot"), _HOLDS.c.released_at.is_(None))
    .limit(1)
)


def wafer_id(lot_id: str, slot: int) -> str:
    """Wafer ids are the lot id and the carrier slot at creation: L001-W07. A wafer keeps
    its id when it moves to another lot by a split or merge."""
    return f"{lot_id}-W{slot:02d}"


def lot_snapshot(lot: Lot) -> dict[str, object]:
    return {"status": lot.status, "step_index": lot.step_index, "tool_id": lot.tool_id}


def load_route(session: Session, name: str) -> Route:
    steps_json = session.connection().execute(_ROUTE_STEPS, {"name": name}).scalar_one_or_none()
    if steps_json is None:
        raise NotFound(f"route {name!r} does not exist (import it with 'pkgline route import')")
    return _parsed(name, steps_json)


@lru_cache(maxsize=64)
def _parsed(name: str, steps_json: str) -> Route:
    """Routes are immutable once imported: each stored text is parsed once per process."""
    return parse_route(name, json.loads(steps_json))


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


def is_held(session: Session, lot_id: str) -> bool:
    """Whether any hold is in force on the lot (or on some of its wafers)."""
    return session.connection().execute(_HELD, {"lot": lot_id}).first() is not None


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
    """The wafers a hold names, or None for a hold on the whole lot."""
    return None if hold.wafer_ids_json is None else list(json.loads(hold.wafer_ids_json))


def link_wafers(link: LotLink) -> list[str]:
    """The wafers a split or merge moved."""
    return list(json.loads(link.wafer_ids_json))


def covered_wafers(session: Session, hold: Hold) -> list[str]:
    """The wafers a hold stops: those it names, or every active wafer of its lot."""
    named = hold_wafers(hold)
    return named if named is not None else [w.id for w in lot_wafers(session, hold.lot_id)]


def holds_by_wafer(session: Session, lot_id: str) -> dict[str, list[Hold]]:
    """The holds in force on each wafer of the lot (its own and the lot's), oldest first."""
    out: dict[str, list[Hold]] = {}
    for h in active_holds(session, lot_id):
        for wafer_id in covered_wafers(session, h):
            out.setdefault(wafer_id, []).append(h)
    return out
