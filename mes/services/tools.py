"""Tool transactions: register, lease heartbeat, E10 state changes, live values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from mes.domain.equipment import SETTABLE_STATES, E10State, check_tool_type
from mes.domain.errors import InvalidInput, InvalidState, NotFound
from mes.domain.lots import check_reason
from mes.domain.roles import Permission
from mes.services import audit
from mes.services.auth import authorize
from mes.services.tx import transaction
from mes.store.tables import Tool, ToolStateChange, as_utc, utcnow


def register(engine: Engine, actor: str, tool_id: str, tool_type: str) -> Tool:
    """Create the tool if new (standby); an existing tool keeps its state and history."""
    check_tool_type(tool_type)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.TOOL_REGISTER)
        tool = s.get(Tool, tool_id)
        if tool is not None:
            if tool.type != tool_type:
                raise InvalidInput(f"tool {tool_id} is registered as {tool.type}, not {tool_type}")
            return tool
        tool = Tool(id=tool_id, type=tool_type, e10_state=E10State.STANDBY)
        s.add(tool)
        s.add(
            ToolStateChange(
                tool_id=tool_id,
                state=tool.e10_state,
                since=tool.state_since,
                actor=actor,
                reason="registered",
            )
        )
        audit.record(s, actor, "tool.register", "tool", tool_id, after={"type": tool_type})
        return tool


def heartbeat(
    engine: Engine, owner: str, tool_ids: list[str], ttl_s: float, actor: str = "equipment"
) -> list[str]:
    """Take or renew the lease of each tool that is free, expired or already ours.

    Returns the tools this owner now holds. The conditional UPDATE makes the
    take-over atomic: two daemons never both hold one tool. Taking a tool whose
    lease another daemon let expire is audited (`tool.lease_takeover`, as `actor`).
    """
    now = utcnow()
    expires = now + timedelta(seconds=ttl_s)
    held = []
    with transaction(engine) as s:
        for tid in tool_ids:
            renewed = s.execute(
                update(Tool)
                .where(col(Tool.id) == tid, col(Tool.lease_owner) == owner)
                .values(lease_expires=expires)
            )
            if renewed.rowcount:  # type: ignore[attr-defined]
                held.append(tid)
                continue
            prev = s.execute(
                select(col(Tool.lease_owner), col(Tool.lease_expires)).where(col(Tool.id) == tid)
            ).first()
            if prev is None:
                continue
            # Compare-and-swap on the owner we read: free, or still that owner and expired.
            # So the owner audited below is the one replaced, and of two daemons racing
            # for an expired lease exactly one wins.
            takeable = (
                col(Tool.lease_owner).is_(None)
                if prev.lease_owner is None
                else (col(Tool.lease_owner) == prev.lease_owner) & (col(Tool.lease_expires) < now)
            )
            taken = s.execute(
                update(Tool)
                .where(col(Tool.id) == tid, takeable)
                .values(lease_owner=owner, lease_expires=expires)
            )
            if not taken.rowcount:  # type: ignore[attr-defined]
                continue
            held.append(tid)
            took_over = prev.lease_owner is not None
            audit.record(
                s,
                actor,
                "tool.lease_takeover" if took_over else "tool.lease_take",
                "tool",
                tid,
                reason=f"lease of {prev.lease_owner} expired; taken by {owner}"
                if took_over
                else f"free; taken by {owner}",
                before={"lease_owner": prev.lease_owner, "lease_expires": prev.lease_expires},
                after={"lease_owner": owner, "lease_expires": expires},
            )
    return held


def lease_is_live(tool: Tool, owner: str | None = None) -> bool:
    """Whether a daemon (`owner`, when named) holds the tool's lease and it has not expired:
    the database's view, for a track-in (some daemon will run it) and for a daemon's own
    writes (see runs.finish)."""
    expires = tool.lease_expires
    if expires is None or as_utc(expires) < utcnow():
        return False
    return owner is None or tool.lease_owner == owner


def release_leases(engine: Engine, owner: str, actor: str = "equipment") -> None:
    """Give up every tool this owner holds (a daemon stopping), each release audited."""
    with transaction(engine) as s:
        released = s.execute(
            update(Tool)
            .where(col(Tool.lease_owner) == owner)
            .values(lease_owner=None, lease_expires=None, online=False)
            .returning(col(Tool.id))
        ).all()
        for (tid,) in released:
            audit.record(
                s,
                actor,
                "tool.lease_release",
                "tool",
                tid,
                reason=f"released by {owner}",
                before={"lease_owner": owner},
                after={"lease_owner": None},
            )


def publish_values(
    engine: Engine, tool_id: str, online: bool, values: Mapping[str, object]
) -> None:
    """Latest process values for the TUI (not a state change: not audited)."""
    with transaction(engine) as s:
        s.execute(
            update(Tool)
            .where(col(Tool.id) == tool_id)
            .values(online=online, last_values_json=json.dumps(dict(values)), last_seen=utcnow())
        )


def set_state(engine: Engine, actor: str, tool_id: str, state: str, reason: str) -> Tool:
    """An operator or engineer moves a tool between E10 states (not into productive)."""
    reason = check_reason(reason)
    try:
        target = E10State(state)
    except ValueError:
        valid = ", ".join(x.value for x in SETTABLE_STATES)
        raise InvalidInput(f"state {state!r} is not one of: {valid}") from None
    if target not in SETTABLE_STATES:
        raise InvalidInput("state productive is set by runs, not by hand")
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.TOOL_STATE)
        # Lock the row: a track-in claiming the tool at this moment waits, then finds it down.
        tool = s.get(Tool, tool_id, with_for_update=True, populate_existing=True)
        if tool is None:
            raise NotFound(f"tool {tool_id!r} does not exist")
        if tool.run_id is not None:
            raise InvalidState(f"tool {tool_id} has run {tool.run_id} in progress")
        before = {"e10_state": tool.e10_state}
        change_state(s, tool, target, actor, reason)
        s.add(tool)
        audit.record(
            s,
            actor,
            "tool.state",
            "tool",
            tool_id,
            reason=reason,
            before=before,
            after={"e10_state": tool.e10_state},
        )
        return tool


def down_on_alarm(s: Session, actor: str, tool_id: str, reason: str) -> bool:
    """A tool's own alarm while it runs nothing takes it from standby to unscheduled down,
    so no lot is tracked in until someone has looked (E10: an unplanned failure). During a
    run the run's policy decides instead (an aborted run ends the tool unscheduled down).
    Returns whether the state changed."""
    tool = s.get(Tool, tool_id, with_for_update=True, populate_existing=True)
    if tool is None or tool.run_id is not None or tool.e10_state != E10State.STANDBY:
        return False
    before = {"e10_state": tool.e10_state}
    change_state(s, tool, E10State.UNSCHEDULED_DOWN, actor, reason)
    s.add(tool)
    audit.record(
        s,
        actor,
        "tool.state",
        "tool",
        tool_id,
        reason=reason,
        before=before,
        after={"e10_state": tool.e10_state},
    )
    return True


def change_state(
    s: Session,
    tool: Tool,
    state: E10State,
    actor: str,
    reason: str | None = None,
    run_id: int | None = None,
) -> None:
    """Move a tool to an E10 state and log the change: the log is the time accounting."""
    if tool.e10_state != state:
        tool.e10_state = state
        tool.state_since = utcnow()
        s.add(
            ToolStateChange(
                tool_id=tool.id,
                state=state.value,
                since=tool.state_since,
                actor=actor,
                reason=reason,
                run_id=run_id,
            )
        )
