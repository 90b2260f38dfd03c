"""Lot transactions: create, track-in, track-out, queue time (holds live in services.holds)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from mes.domain.equipment import E10State, may_track_in
from mes.domain.errors import Conflict, InvalidInput, InvalidState, NotFound
from mes.domain.holds import HoldCode
from mes.domain.lots import (
    LotStatus,
    check_lot_id,
    check_wafers,
    require_can_track_in,
    require_can_track_out,
)
from mes.domain.roles import Permission
from mes.services import audit, history, plating, qualification
from mes.services.auth import authorize
from mes.services.holds import hold, on_arrival, place_hold, release
from mes.services.lookup import (
    active_holds,
    get_lot,
    is_held,
    load_route,
    lot_snapshot,
    wafer_id,
)
from mes.services.tools import lease_is_live
from mes.services.tx import transaction
from mes.store.tables import Lot, Recipe, Run, Tool, Wafer, as_utc, utcnow


class RunStatus:
    REQUESTED = "requested"
    RUNNING = "running"
    COMPLETED = "completed"
    ABORTED = "aborted"


def create(
    engine: Engine, actor: str, lot_id: str, route: str, wafers: int, product: str = "FOWLP"
) -> Lot:
    """Start a lot at the first step of `route`."""
    check_lot_id(lot_id)
    check_wafers(wafers)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_CREATE)
        load_route(s, route)
        if s.get(Lot, lot_id) is not None:
            raise InvalidInput(f"lot {lot_id} already exists")
        lot = Lot(id=lot_id, product=product, route=route, status=LotStatus.WAITING, wafers=wafers)
        s.add(lot)
        s.flush()
        ids = [wafer_id(lot_id, slot) for slot in range(1, wafers + 1)]
        s.add_all(Wafer(id=w, lot_id=lot_id, slot=i) for i, w in enumerate(ids, start=1))
        s.flush()
        history.record(s, ids, lot, "created", actor, f"route {route}")
        audit.record(
            s, actor, "lot.create", "lot", lot_id, after=lot_snapshot(lot) | {"route": route}
        )
        return lot


@dataclass(frozen=True)
class TrackIn:
    lot_id: str
    step: str
    tool_id: str | None
    run_id: int | None


def track_in(engine: Engine, actor: str, lot_id: str, tool_id: str | None = None) -> TrackIn:
    """Track a lot in at its current step: on a tool (writes a run request) or manually."""
    result = _track_in(engine, actor, lot_id, tool_id)
    if result is None:  # its queue time ran out: the hold is committed, then refused
        enforce_qtime(engine, actor, lot_id)
        raise InvalidState(f"lot {lot_id} exceeded its queue-time limit and is now on hold")
    return result


def _qtime_expired(lot: Lot) -> bool:
    deadline = lot.qtime_deadline
    if deadline is None or lot.status != LotStatus.WAITING:
        return False
    return as_utc(deadline) < utcnow()


def _track_in(engine: Engine, actor: str, lot_id: str, tool_id: str | None) -> TrackIn | None:
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_MOVE)
        lot = get_lot(s, lot_id, lock=True)  # a hold, split or rework of it waits, or we do
        if _qtime_expired(lot):
            return None
        route = load_route(s, lot.route)
        require_can_track_in(lot_id, LotStatus(lot.status), is_held(s, lot_id))
        step = route.step(lot.step_index)
        before = lot_snapshot(lot)
        if not step.automated:
            if tool_id is not None:
                raise InvalidInput(f"step {step.name} is manual; do not name a tool")
            claim_lot(s, lot, LotStatus.WAITING, LotStatus.RUNNING)
            timed_step_started(s, lot, step.name)  # a manual step may be the timed one
            audit.record(
                s, actor, "lot.track_in", "lot", lot_id, before=before, after=lot_snapshot(lot)
            )
            return TrackIn(lot_id, step.name, None, None)
        if tool_id is None:
            raise InvalidInput(f"step {step.name} runs on a {step.tool_type}: name the tool")
        tool = s.get(Tool, tool_id)
        if tool is None:
            raise NotFound(f"tool {tool_id!r} does not exist")
        if tool.type != step.tool_type:
            raise InvalidState(
                f"tool {tool_id} is a {tool.type}; step {step.name} needs a {step.tool_type}"
            )
        bath = plating.bath_blocks(tool)
        if bath is not None:
            raise InvalidState(bath)
        if tool.run_id is not None:
            raise InvalidState(f"tool {tool_id} is busy with run {tool.run_id}")
        if not may_track_in(E10State(tool.e10_state)):
            raise InvalidState(f"tool {tool_id} is {tool.e10_state}; track-in needs standby")
        if not lease_is_live(tool):
            raise InvalidState(
                f"tool {tool_id} has no live daemon (no lease); start 'pkgline daemon'"
            )
        assert step.recipe is not None
        recipe = s.exec(
            select(Recipe)
            .where(Recipe.name == step.recipe, col(Recipe.approved).is_(True))
            .order_by(col(Recipe.version).desc())
        ).first()
        if recipe is None:
            raise InvalidState(f"recipe {step.recipe} has no approved version")
        qualification.require(s, tool_id, step.name, recipe.name)
        run = Run(
            lot_id=lot_id,
            tool_id=tool_id,
            step=step.name,
            recipe_name=recipe.name,
            recipe_version=recipe.version,
            status=RunStatus.REQUESTED,
            requested_by=actor,
        )
        s.add(run)
        s.flush()
        assert run.id is not None
        claim_lot(s, lot, LotStatus.WAITING, LotStatus.RUNNING, tool_id=tool_id)
        claimed = s.execute(
            update(Tool)
            .where(
                col(Tool.id) == tool_id,
                col(Tool.run_id).is_(None),
                col(Tool.e10_state) == E10State.STANDBY,  # not taken down meanwhile
            )
            .values(run_id=run.id)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"tool {tool_id} was just given another run or taken out of standby; look again"
            )
        audit.record(
            s,
            actor,
            "lot.track_in",
            "lot",
            lot_id,
            before=before,
            after=lot_snapshot(lot)
            | {"run_id": run.id, "recipe": f"{recipe.name} v{recipe.version}"},
        )
        return TrackIn(lot_id, step.name, tool_id, run.id)


def claim_lot(s: Session, lot: Lot, expected: str, new: str, **values: object) -> None:
    """Move the lot from `expected` to `new` only if no one else moved it first.

    The conditional UPDATE is what makes two operators tracking the same lot in
    at once end with one winner: the loser matches no row and gets `Conflict`.
    The loaded `lot` is brought up to what was written, without reading it again.
    """
    values = {"status": new, **values}
    result = s.execute(
        update(Lot)
        .where(col(Lot.id) == lot.id, col(Lot.status) == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"lot {lot.id} was changed by someone else just now; look again")
    for key, value in values.items():
        set_committed_value(lot, key, value)


def timed_step_started(s: Session, lot: Lot, step: str) -> None:
    """`step` has started on the lot: if a queue-time clock ran to it, the clock stops."""
    if lot.qtime_step == step:
        lot.qtime_deadline = None
        lot.qtime_step = None
        s.add(lot)


def advance(s: Session, lot: Lot) -> None:
    """Move a lot to the next step of its route (or finish it)."""
    route = load_route(s, lot.route)
    done = route.step(lot.step_index)
    lot.tool_id = None
    lot.step_since = utcnow()
    if done.qtime_to is not None and done.qtime_h is not None:
        # This step starts a queue-time clock for a later one (e.g. seed sputter → plating).
        lot.qtime_deadline = lot.step_since + timedelta(hours=done.qtime_h)
        lot.qtime_step = done.qtime_to
    if route.is_last(lot.step_index):
        lot.status = LotStatus.FINISHED
    else:
        lot.step_index += 1
        lot.status = LotStatus.WAITING
    s.add(lot)
    if lot.status == LotStatus.WAITING:
        on_arrival(s, lot, route.step(lot.step_index).name)


def track_out(engine: Engine, actor: str, lot_id: str) -> Lot:
    """Track a lot out of a manual step to its next step."""
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_MOVE)
        lot = get_lot(s, lot_id, lock=True)
        step = load_route(s, lot.route).step(lot.step_index)
        held = is_held(s, lot_id)
        require_can_track_out(lot_id, LotStatus(lot.status), held, step.name, step.automated)
        before = lot_snapshot(lot)
        advance(s, lot)
        audit.record(
            s, actor, "lot.track_out", "lot", lot_id, before=before, after=lot_snapshot(lot)
        )
        return lot


def queue_time(lot: Lot) -> timedelta:
    return utcnow() - lot.step_since


def qtime_reason(lot: Lot) -> str:
    assert lot.qtime_deadline is not None
    late = utcnow() - lot.qtime_deadline
    return (
        f"Q-time exceeded: {lot.qtime_step} had to start by "
        f"{lot.qtime_deadline:%Y-%m-%d %H:%M} UTC ({late.total_seconds() / 3600:.1f} h late)"
    )


def enforce_qtime(engine: Engine, actor: str, lot_id: str | None = None) -> list[str]:
    """Hold every waiting lot past its queue-time deadline (one lot, or all). Returns them."""
    now = utcnow()
    held = []
    with transaction(engine) as s:
        q = select(Lot).where(
            col(Lot.qtime_deadline).is_not(None),
            col(Lot.qtime_deadline) < now,
            Lot.status == LotStatus.WAITING,
        )
        if lot_id is not None:
            q = q.where(Lot.id == lot_id)
        for lot in s.exec(q):
            if any(h.code == HoldCode.QTIME for h in active_holds(s, lot.id)):
                continue
            place_hold(s, actor, lot.id, qtime_reason(lot), code=HoldCode.QTIME)
            held.append(lot.id)
    return held


__all__ = [
    "RunStatus",
    "TrackIn",
    "active_holds",
    "advance",
    "claim_lot",
    "create",
    "enforce_qtime",
    "get_lot",
    "hold",
    "load_route",
    "lot_snapshot",
    "release",
    "timed_step_started",
    "track_in",
    "track_out",
    "wafer_id",
]
