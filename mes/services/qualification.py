"""Tool qualification transactions: qualify, disqualify, list, and the track-in check."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, or_, select

from mes.domain.errors import InvalidInput, InvalidState, NotFound
from mes.domain.lots import check_reason
from mes.domain.qualification import covering_steps, not_qualified, scope
from mes.domain.roles import Permission
from mes.domain.routes import RouteStep, parse_route
from mes.services import audit
from mes.services.auth import authorize
from mes.services.tx import transaction
from mes.store.tables import Route, Tool, ToolQualification


@dataclass(frozen=True)
class Qualification:
    tool_id: str
    step: str
    recipe: str | None  # None: any recipe of the step
    qualified_by: str
    qualified_at: datetime


def _public(row: ToolQualification) -> Qualification:
    return Qualification(row.tool_id, row.step, row.recipe_name, row.qualified_by, row.qualified_at)


def _tool(s: Session, tool_id: str) -> Tool:
    tool = s.get(Tool, tool_id)
    if tool is None:
        raise NotFound(f"tool {tool_id!r} does not exist")
    return tool


def _find(s: Session, tool_id: str, step: str, recipe: str | None) -> ToolQualification | None:
    q = select(ToolQualification).where(
        ToolQualification.tool_id == tool_id, ToolQualification.step == step
    )
    q = q.where(
        col(ToolQualification.recipe_name).is_(None)
        if recipe is None
        else ToolQualification.recipe_name == recipe
    )
    return s.exec(q).first()


def _route_steps(s: Session, step: str) -> list[RouteStep]:
    """The automated steps of the imported routes that a qualification for `step` covers."""
    out = []
    for row in s.exec(select(Route)):
        for st in parse_route(row.name, json.loads(row.steps_json)).steps:
            if st.automated and step in covering_steps(st.name):
                out.append(st)
    return out


def _check_scope(s: Session, tool: Tool, step: str, recipe: str | None) -> None:
    """The step runs on this tool's type on some route, and with `recipe` when one is named."""
    steps = _route_steps(s, step)
    if not steps:
        raise InvalidInput(f"step {step!r} is not a tool step of any imported route")
    mine = [st for st in steps if st.tool_type == tool.type]
    if not mine:
        types = ", ".join(sorted({str(st.tool_type) for st in steps}))
        raise InvalidInput(f"step {step} runs on a {types}; tool {tool.id} is a {tool.type}")
    recipes = sorted({str(st.recipe) for st in mine})
    if recipe is not None and recipe not in recipes:
        raise InvalidInput(
            f"recipe {recipe!r} is not run at step {step} (its recipes: {', '.join(recipes)})"
        )


def qualify(
    engine: Engine, actor: str, tool_id: str, step: str, recipe: str | None = None
) -> Qualification:
    """An engineer qualifies a tool for a step (any recipe of it, or only `recipe`)."""
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.TOOL_QUALIFY)
        tool = _tool(s, tool_id)
        _check_scope(s, tool, step, recipe)
        if _find(s, tool_id, step, recipe) is not None:
            raise InvalidState(f"tool {tool_id} is already qualified for {scope(step, recipe)}")
        row = ToolQualification(tool_id=tool_id, step=step, recipe_name=recipe, qualified_by=actor)
        s.add(row)
        s.flush()
        audit.record(
            s, actor, "tool.qualify", "tool", tool_id, after={"step": step, "recipe": recipe}
        )
        return _public(row)


def disqualify(
    engine: Engine, actor: str, tool_id: str, step: str, recipe: str | None, reason: str
) -> Qualification:
    """Withdraw one qualification (exactly as it was granted); the tool may no longer run it."""
    reason = check_reason(reason)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.TOOL_QUALIFY)
        _tool(s, tool_id)
        row = _find(s, tool_id, step, recipe)
        if row is None:
            raise NotFound(f"tool {tool_id} has no qualification for {scope(step, recipe)}")
        gone = _public(row)
        s.delete(row)
        audit.record(
            s,
            actor,
            "tool.disqualify",
            "tool",
            tool_id,
            reason=reason,
            before={"step": step, "recipe": recipe, "qualified_by": gone.qualified_by},
        )
        return gone


def qualifications(engine: Engine, tool_id: str | None = None) -> list[Qualification]:
    """Every qualification (of one tool), by tool, step and recipe."""
    with transaction(engine) as s:
        q = select(ToolQualification)
        if tool_id is not None:
            _tool(s, tool_id)
            q = q.where(ToolQualification.tool_id == tool_id)
        rows = s.exec(
            q.order_by(
                col(ToolQualification.tool_id),
                col(ToolQualification.step),
                col(ToolQualification.recipe_name),
            )
        )
        return [_public(r) for r in rows]


def require(s: Session, tool_id: str, step_name: str, recipe_name: str) -> None:
    """Refuse (InvalidState) unless the tool is qualified for this route step and recipe."""
    found = s.exec(
        select(ToolQualification.id).where(
            ToolQualification.tool_id == tool_id,
            col(ToolQualification.step).in_(covering_steps(step_name)),
            or_(
                col(ToolQualification.recipe_name).is_(None),
                ToolQualification.recipe_name == recipe_name,
            ),
        )
    ).first()
    if found is None:
        raise InvalidState(not_qualified(tool_id, step_name, recipe_name))
