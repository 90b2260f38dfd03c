"""E10 utilization per tool and period, from the logged state changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from mes.domain.e10 import Accounting, Change, account
from mes.domain.equipment import E10State
from mes.domain.errors import NotFound
from mes.services.tx import transaction
from mes.store.tables import Tool, ToolStateChange, as_utc


@dataclass(frozen=True)
class ToolUtilization:
    tool_id: str
    tool_type: str
    accounting: Accounting


def report(
    engine: Engine, start: datetime, end: datetime, tool_ids: Sequence[str] | None = None
) -> list[ToolUtilization]:
    """Time per E10 state in [start, end) of every tool (or of `tool_ids`), by tool id."""
    with transaction(engine) as s:
        q = select(Tool).order_by(col(Tool.id))
        if tool_ids is not None:
            q = q.where(col(Tool.id).in_(tool_ids))
        tools = list(s.exec(q))
        missing = sorted(set(tool_ids or ()) - {t.id for t in tools})
        if missing:
            raise NotFound(f"tool {missing[0]!r} does not exist")
        out = []
        for tool in tools:
            rows = s.exec(
                select(ToolStateChange)
                .where(ToolStateChange.tool_id == tool.id, col(ToolStateChange.since) < end)
                .order_by(col(ToolStateChange.since), col(ToolStateChange.id))
            )
            changes = [Change(E10State(r.state), as_utc(r.since)) for r in rows]
            out.append(ToolUtilization(tool.id, tool.type, account(changes, start, end)))
        return out
