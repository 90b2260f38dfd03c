"""Split, merge and scrap, and the genealogy they leave: lot links and wafer history.

A wafer keeps its id for life; when it moves to another lot the move is a LotLink
(lot to lot) and a WaferEvent (the wafer's own history), both in the audit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.domain.errors import Conflict, InvalidInput, InvalidState, NotFound
from mes.domain.lots import MAX_WAFERS, LotStatus, check_lot_id, check_reason
from mes.domain.roles import Permission
from mes.services import audit, history
from mes.services.auth import authorize
from mes.services.holds import pending_future_holds
from mes.services.lookup import (
    active_holds,
    get_lot,
    hold_wafers,
    holds_by_wafer,
    load_route,
    lot_snapshot,
    lot_wafers,
    resolve_wafers,
)
from mes.services.tx import transaction
from mes.store.tables import FutureHold, Hold, Lot, LotLink, Wafer, WaferEvent, as_utc, utcnow


def _require_waiting(lot: Lot, action: str) -> None:
    if lot.status != LotStatus.WAITING:
        raise InvalidState(f"lot {lot.id} is {lot.status}; only a waiting lot can be {action}")


def _child_id(s: Session, parent: str) -> str:
    n = len(
        list(s.exec(select(LotLink).where(LotLink.from_lot == parent, LotLink.kind == "split")))
    )
    while True:
        n += 1
        candidate = f"{parent}.{n}"
        if s.get(Lot, candidate) is None:
            try:
                return check_lot_id(candidate)
            except InvalidInput:
                raise InvalidInput(
                    f"child lot id {candidate!r} would be over 32 characters: name it (--child)"
                ) from None


def _carry_holds(s: Session, parent: Lot, child: Lot, moved: set[str]) -> None:
    """Lot holds stay on both lots; a wafer hold goes with its wafers (split if they part)."""
    for h in active_holds(s, parent.id):
        wafers = hold_wafers(h)
        if wafers is None:
            s.add(Hold(**h.model_dump(exclude={"id", "lot_id"}), lot_id=child.id))
            continue
        going = [w for w in wafers if w in moved]
        staying = [w for w in wafers if w not in moved]
        if not going:
            continue
        if staying:
            h.wafer_ids_json = json.dumps(staying)
            s.add(h)
            s.add(
                Hold(
                    **h.model_dump(exclude={"id", "lot_id", "wafer_ids_json"}),
                    lot_id=child.id,
                    wafer_ids_json=json.dumps(going),
                )
            )
        else:
            h.lot_id = child.id
            s.add(h)
    for fh in pending_future_holds(s, parent.id):
        s.add(FutureHold(**fh.model_dump(exclude={"id", "lot_id"}), lot_id=child.id))


def split(
    engine: Engine,
    actor: str,
    lot_id: str,
    wafers: list[str],
    reason: str,
    child_id: str | None = None,
) -> Lot:
    """Move `wafers` (ids or slots) of a waiting lot into a new child lot at the same step."""
    reason = check_reason(reason)
    if child_id is not None:
        check_lot_id(child_id)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_SPLIT)
        parent = get_lot(s, lot_id, lock=True)
        _require_waiting(parent, "split")
        moving = resolve_wafers(s, lot_id, wafers)
        if len(moving) >= len(lot_wafers(s, lot_id)):
            raise InvalidInput(f"wafers: a split leaves at least one wafer in lot {lot_id}")
        child_id = child_id or _child_id(s, lot_id)
        if s.get(Lot, child_id) is not None:
            raise InvalidInput(f"lot {child_id} already exists")
        before = lot_snapshot(parent) | {"wafers": parent.wafers}
        child = Lot(
            id=child_id,
            product=parent.product,
            route=parent.route,
            step_index=parent.step_index,
            status=LotStatus.WAITING,
            wafers=len(moving),
            step_since=parent.step_since,
            qtime_deadline=parent.qtime_deadline,
            qtime_step=parent.qtime_step,
        )
        s.add(child)
        s.flush()
        ids = [w.id for w in moving]
        for w in moving:
            w.lot_id = child_id
            s.add(w)
        parent.wafers -= len(moving)
        s.add(parent)
        step = history.step_name(s, parent)
        s.add(
            LotLink(
                kind="split",
                from_lot=lot_id,
                to_lot=child_id,
                wafer_ids_json=json.dumps(ids),
                step=step,
                actor=actor,
                reason=reason,
            )
        )
        _carry_holds(s, parent, child, set(ids))
        history.record(s, ids, child, "split", actor, f"{lot_id} → {child_id}: {reason}", step=step)
        audit.record(
            s,
            actor,
            "lot.split",
            "lot",
            lot_id,
            reason=reason,
            before=before,
            after=lot_snapshot(parent) | {"wafers": parent.wafers, "child": child_id, "moved": ids},
        )
        return child


def merge(engine: Engine, actor: str, target_id: str, source_id: str, reason: str) -> Lot:
    """Bring every wafer of `source` back into `target`: same route, same step, no holds."""
    reason = check_reason(reason)
    if target_id == source_id:
        raise InvalidInput("merge: the two lots must differ")
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_SPLIT)
        first, second = sorted([target_id, source_id])  # one lock order: no deadlock
        locked = {first: get_lot(s, first, lock=True), second: get_lot(s, second, lock=True)}
        target, source = locked[target_id], locked[source_id]
        for lot in (target, source):
            _require_waiting(lot, "merged")
            if active_holds(s, lot.id):
                raise InvalidState(f"lot {lot.id} is on hold; release it before a merge")
        if (target.route, target.step_index) != (source.route, source.step_index):
            raise InvalidState(
                f"lots {target_id} and {source_id} are not at the same step of the same route"
            )
        incoming = lot_wafers(s, source_id)
        present = lot_wafers(s, target_id)
        if len(present) + len(incoming) > MAX_WAFERS:
            raise InvalidInput(
                f"merge: {len(present)} + {len(incoming)} wafers exceed a carrier's {MAX_WAFERS}"
            )
        taken = {w.slot for w in present}
        free = (n for n in range(1, MAX_WAFERS + 1) if n not in taken)
        ids = []
        for w in incoming:
            if w.slot in taken:
                w.slot = next(n for n in free if n not in taken)
            taken.add(w.slot)
            w.lot_id = target_id
            s.add(w)
            ids.append(w.id)
        for fh in pending_future_holds(s, source_id):
            fh.lot_id = target_id
            s.add(fh)
        before = {"target_wafers": target.wafers, "source_status": source.status}
        target.wafers += len(incoming)
        source.wafers = 0
        source.status = LotStatus.MERGED
        s.add_all([target, source])
        step = history.step_name(s, target)
        s.add(
            LotLink(
                kind="merge",
                from_lot=source_id,
                to_lot=target_id,
                wafer_ids_json=json.dumps(ids),
                step=step,
                actor=actor,
                reason=reason,
            )
        )
        history.record(
            s, ids, target, "merged", actor, f"{source_id} → {target_id}: {reason}", step=step
        )
        audit.record(
            s,
            actor,
            "lot.merge",
            "lot",
            target_id,
            reason=reason,
            before=before,
            after={"target_wafers": target.wafers, "source": source_id, "moved": ids},
        )
        return target


def rework(engine: Engine, actor: str, lot_id: str, step: str, reason: str) -> Lot:
    """Send a waiting lot back to an earlier step of its route (an engineer's call)."""
    reason = check_reason(reason)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_REWORK)
        lot = get_lot(s, lot_id, lock=True)
        _require_waiting(lot, "sent to rework")
        route = load_route(s, lot.route)
        earlier = [st.name for st in route.steps[: lot.step_index]]
        if step not in earlier:
            raise InvalidInput(
                f"step {step!r} is not an earlier step of lot {lot_id}; "
                f"earlier steps: {', '.join(earlier) or 'none'}"
            )
        before = lot_snapshot(lot)
        here = route.step(lot.step_index).name
        lot.step_index = earlier.index(step)
        lot.step_since = utcnow()
        s.add(lot)
        ids = [w.id for w in lot_wafers(s, lot_id)]
        history.record(s, ids, lot, "rework", actor, f"{here} → {step}: {reason}", step=step)
        audit.record(
            s,
            actor,
            "lot.rework",
            "lot",
            lot_id,
            reason=reason,
            before=before,
            after=lot_snapshot(lot),
        )
        return lot


def scrap(engine: Engine, actor: str, wafer_id: str, reason: str) -> Wafer:
    """Scrap one wafer with a reason; a lot whose last wafer is scrapped is scrapped."""
    reason = check_reason(reason)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_SPLIT)
        wafer = s.get(Wafer, wafer_id)
        if wafer is None:
            raise NotFound(f"wafer {wafer_id!r} does not exist")
        lot = get_lot(s, wafer.lot_id, lock=True)
        # Under the lot's lock, read the wafer again: a concurrent scrap or split has
        # finished by now, and what it did is what counts.
        s.refresh(wafer)
        if wafer.status != "active":
            raise InvalidState(f"wafer {wafer_id} is already {wafer.status}")
        if wafer.lot_id != lot.id:
            raise Conflict(f"wafer {wafer_id} moved to lot {wafer.lot_id} just now; look again")
        if lot.status == LotStatus.RUNNING:
            raise InvalidState(f"lot {lot.id} is running; scrap its wafer after the step")
        before = lot_snapshot(lot) | {"wafers": lot.wafers, "wafer": "active"}
        wafer.status = "scrapped"
        wafer.scrap_reason = reason
        lot.wafers -= 1
        if lot.wafers == 0:
            lot.status = LotStatus.SCRAPPED
        s.add_all([wafer, lot])
        history.record(s, [wafer_id], lot, "scrap", actor, reason)
        audit.record(
            s,
            actor,
            "wafer.scrap",
            "wafer",
            wafer_id,
            reason=reason,
            before=before,
            after=lot_snapshot(lot) | {"wafers": lot.wafers, "wafer": "scrapped"},
        )
        return wafer


@dataclass(frozen=True)
class LotTree:
    lot_id: str
    ancestors: list[LotLink]  # links into this lot, nearest first, back to the first lot
    descendants: list[LotLink]  # links out of this lot, then out of those lots

    @property
    def links(self) -> list[LotLink]:
        """Every link once, oldest first (a lot split and merged back has its links on
        both sides)."""
        unique = {link.id: link for link in [*self.ancestors, *self.descendants]}
        return [unique[k] for k in sorted(k for k in unique if k is not None)]

    def side(self, link: LotLink) -> str:
        """'before' for a link that led to this lot, 'after' for one that came after it."""
        return "before" if link in self.ancestors and link not in self.descendants else "after"


def lot_tree(engine: Engine, lot_id: str) -> LotTree:
    """Every split and merge that led to this lot, and every one that came after it."""
    with transaction(engine) as s:
        get_lot(s, lot_id)
        return LotTree(lot_id, _walk(s, lot_id, back=True), _walk(s, lot_id, back=False))


def _walk(s: Session, start: str, *, back: bool) -> list[LotLink]:
    """Follow links in time order: backwards only to earlier links, forwards to later ones
    (a lot split and merged back links both ways, but only one way in time)."""
    out: list[LotLink] = []
    frontier: list[tuple[str, int | None]] = [(start, None)]
    while frontier:
        lot, via = frontier.pop(0)
        column = LotLink.to_lot if back else LotLink.from_lot
        q = select(LotLink).where(column == lot)
        if via is not None:
            q = q.where(col(LotLink.id) < via if back else col(LotLink.id) > via)
        for link in s.exec(q.order_by(col(LotLink.id))):
            if link in out:
                continue
            out.append(link)
            frontier.append((link.from_lot if back else link.to_lot, link.id))
    return out


@dataclass(frozen=True)
class WaferTrace:
    wafer: Wafer
    lots: list[str]  # every lot it has been in, first to last
    events: list[WaferEvent]
    die_sources: dict[str, int]  # device wafer → dies placed on this wafer
    where: str = ""  # its lot, the lot's step and status now ('' once scrapped)
    holds: tuple[str, ...] = ()  # '[code] reason' of each hold in force on it or its lot


def wafer_trace(engine: Engine, wafer_id: str) -> WaferTrace:
    """Backward and own history of a wafer: its lots, its events, where its dies came from."""
    from mes.services.diemaps import die_sources

    with transaction(engine) as s:
        wafer = s.get(Wafer, wafer_id)
        if wafer is None:
            raise NotFound(f"wafer {wafer_id!r} does not exist")
        own = history.events(s, wafer_id)
        lots: list[str] = []
        for e in own:
            if not lots or lots[-1] != e.lot_id:
                lots.append(e.lot_id)
        if not lots or lots[-1] != wafer.lot_id:
            lots.append(wafer.lot_id)
        events = sorted(
            own + history.moves(s, _segments(own, wafer.lot_id), wafer_id),
            key=lambda e: as_utc(e.ts),
        )
        where, held = "", []
        if wafer.status == "active":
            lot = get_lot(s, wafer.lot_id)
            step = load_route(s, lot.route).step(lot.step_index).name
            where = f"in lot {lot.id} at {step} ({lot.status})"
            for h in holds_by_wafer(s, lot.id).get(wafer_id, []):
                scope = "lot" if hold_wafers(h) is None else "wafer"
                held.append(f"[{h.code}] {h.reason} ({scope} hold)")
        return WaferTrace(wafer, lots, events, die_sources(s, wafer_id), where, tuple(held))


def _segments(events: list[WaferEvent], now_in: str) -> list[tuple[str, datetime, datetime | None]]:
    """(lot, from, to) for each stay of the wafer in a lot; the last stay is open-ended."""
    out: list[tuple[str, datetime, datetime | None]] = []
    for e in events:
        if not out or out[-1][0] != e.lot_id:
            if out:
                out[-1] = (out[-1][0], out[-1][1], e.ts)
            out.append((e.lot_id, e.ts, None))
    if not out:
        out.append((now_in, datetime.min.replace(tzinfo=UTC), None))
    return out
