"""Holds: on a lot or on chosen wafers, with a reason code; future holds on a later step.

The code names who may release: an operator's own hold, or an engineer's disposition
for quality, queue-time, equipment and engineering holds (mes.domain.holds).
"""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.domain.errors import InvalidInput, InvalidState, NotFound
from mes.domain.holds import HoldCode, parse_code, release_permission
from mes.domain.lots import LotStatus, check_reason
from mes.domain.roles import Permission
from mes.services import audit, history
from mes.services.auth import authorize
from mes.services.lookup import (
    active_holds,
    covered_wafers,
    get_lot,
    holds_by_wafer,
    load_route,
    resolve_wafers,
)
from mes.services.tx import transaction
from mes.store.tables import FutureHold, Hold, Lot, utcnow


def place_hold(
    s: Session,
    actor: str,
    lot_id: str,
    reason: str,
    run_id: int | None = None,
    *,
    code: HoldCode = HoldCode.ENGINEERING,
    wafer_ids: list[str] | None = None,
) -> Hold:
    """Put a hold on a lot (or some of its wafers) inside the caller's transaction."""
    lot = get_lot(s, lot_id)
    hold = Hold(
        lot_id=lot_id,
        code=code.value,
        reason=reason,
        placed_by=actor,
        run_id=run_id,
        wafer_ids_json=None if wafer_ids is None else json.dumps(wafer_ids),
    )
    s.add(hold)
    s.flush()
    held = covered_wafers(s, hold)
    history.record(s, held, lot, "hold", actor, f"[{code.value}] {reason}")
    audit.record(
        s,
        actor,
        "lot.hold",
        "lot",
        lot_id,
        reason=reason,
        after={"hold_id": hold.id, "code": code.value, "wafers": wafer_ids or "all"},
    )
    return hold


def hold(
    engine: Engine,
    actor: str,
    lot_id: str,
    reason: str,
    code: str = HoldCode.OPERATOR.value,
    wafers: list[str] | None = None,
) -> Hold:
    """Hold a lot, or only `wafers` (ids or slots) of it."""
    reason = check_reason(reason)
    parsed = parse_code(code)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_HOLD)
        lot = get_lot(s, lot_id, lock=True)  # a track-in, split or merge waits for the hold
        if lot.status in (LotStatus.FINISHED, LotStatus.MERGED, LotStatus.SCRAPPED):
            raise InvalidState(f"lot {lot_id} is {lot.status}; nothing to hold")
        ids = None if wafers is None else [w.id for w in resolve_wafers(s, lot_id, wafers)]
        return place_hold(s, actor, lot_id, reason, code=parsed, wafer_ids=ids)


def release(
    engine: Engine, actor: str, lot_id: str, reason: str, hold_ids: list[int] | None = None
) -> list[Hold]:
    """Release the lot's active holds (all, or those named). Each hold's code names the
    permission its release needs; lacking one refuses the whole release (audited)."""
    reason = check_reason(reason)
    with transaction(engine) as s:
        get_lot(s, lot_id, lock=True)  # two releases of one hold: the second finds it released
        holds = active_holds(s, lot_id)
        if hold_ids is not None:
            unknown = sorted(set(hold_ids) - {h.id for h in holds if h.id is not None})
            if unknown:
                raise NotFound(f"lot {lot_id} has no active hold {unknown[0]}")
            holds = [h for h in holds if h.id in hold_ids]
        if not holds:
            raise InvalidState(f"lot {lot_id} is not on hold")
        needed = sorted({release_permission(h.code) for h in holds})
        for permission in needed:
            authorize(engine, s, actor, permission)
        lot = get_lot(s, lot_id)
        now = utcnow()
        for h in holds:
            h.released_by = actor
            h.released_at = now
            h.release_reason = reason
            s.add(h)
            history.record(s, covered_wafers(s, h), lot, "release", actor, f"hold {h.id}: {reason}")
            audit.record(
                s,
                actor,
                "lot.release",
                "lot",
                lot_id,
                reason=reason,
                before={"hold_id": h.id, "code": h.code, "hold_reason": h.reason},
            )
        return holds


def future_hold(
    engine: Engine,
    actor: str,
    lot_id: str,
    step: str,
    reason: str,
    code: str = HoldCode.ENGINEERING.value,
) -> FutureHold:
    """Hold the lot when it arrives at `step`, a later step of its route."""
    reason = check_reason(reason)
    parsed = parse_code(code)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_HOLD)
        lot = get_lot(s, lot_id)
        route = load_route(s, lot.route)
        later = [st.name for st in route.steps[lot.step_index + 1 :]]
        if step not in later:
            where = route.step(lot.step_index).name if lot.step_index < len(route.steps) else "-"
            raise InvalidInput(
                f"step {step!r} is not a later step of lot {lot_id} (now at {where}); "
                f"later steps: {', '.join(later) or 'none'}"
            )
        fh = FutureHold(lot_id=lot_id, step=step, code=parsed.value, reason=reason, placed_by=actor)
        s.add(fh)
        s.flush()
        audit.record(
            s,
            actor,
            "lot.future_hold",
            "lot",
            lot_id,
            reason=reason,
            after={"future_hold_id": fh.id, "step": step, "code": parsed.value},
        )
        return fh


def cancel_future_hold(engine: Engine, actor: str, future_id: int, reason: str) -> FutureHold:
    """Cancel a pending future hold; it needs the same permission as releasing the hold."""
    reason = check_reason(reason)
    with transaction(engine) as s:
        fh = s.get(FutureHold, future_id)
        if fh is None or fh.hold_id is not None or fh.cancelled_at is not None:
            raise NotFound(f"no pending future hold {future_id}")
        authorize(engine, s, actor, release_permission(fh.code))
        fh.cancelled_by = actor
        fh.cancelled_at = utcnow()
        s.add(fh)
        audit.record(
            s,
            actor,
            "lot.future_hold_cancel",
            "lot",
            fh.lot_id,
            reason=reason,
            before={"future_hold_id": fh.id, "step": fh.step, "code": fh.code},
        )
        return fh


def pending_future_holds(s: Session, lot_id: str) -> list[FutureHold]:
    return list(
        s.exec(
            select(FutureHold)
            .where(
                FutureHold.lot_id == lot_id,
                col(FutureHold.hold_id).is_(None),
                col(FutureHold.cancelled_at).is_(None),
            )
            .order_by(col(FutureHold.id))
        )
    )


def on_arrival(s: Session, lot: Lot, step: str) -> list[Hold]:
    """The lot just arrived at `step`: its future holds for that step become holds."""
    placed: list[Hold] = []
    waiting = s.execute(
        select(FutureHold.id).where(
            FutureHold.lot_id == lot.id,
            FutureHold.step == step,
            col(FutureHold.hold_id).is_(None),
            col(FutureHold.cancelled_at).is_(None),
        )
    ).first()
    if waiting is None:  # the common case, answered by one narrow query
        return placed
    for fh in pending_future_holds(s, lot.id):
        if fh.step != step:
            continue
        h = place_hold(
            s,
            fh.placed_by,
            lot.id,
            f"future hold at {step}: {fh.reason}",
            code=HoldCode(fh.code),
        )
        fh.hold_id = h.id
        s.add(fh)
        placed.append(h)
    return placed


def holds_by_wafer_of(engine: Engine, lot_id: str) -> dict[str, list[Hold]]:
    """The holds in force on each wafer of the lot (its own and the lot's)."""
    with transaction(engine) as s:
        return holds_by_wafer(s, lot_id)


def active_holds_of(engine: Engine, lot_id: str) -> list[Hold]:
    """The lot's holds in force, oldest first."""
    with transaction(engine) as s:
        return active_holds(s, lot_id)
