"""Roles and what each may do. The one table that services.auth checks."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    OPERATOR = "operator"
    ENGINEER = "engineer"
    ADMIN = "admin"
    EQUIPMENT = "equipment"  # the tool-side daemon acting for a tool


class Permission(enum.StrEnum):
    LOT_CREATE = "lot.create"
    LOT_MOVE = "lot.move"  # track-in / track-out
    LOT_HOLD = "lot.hold"
    LOT_RELEASE = "lot.release"  # holds an operator may release (code operator)
    LOT_RELEASE_ENGINEERING = "lot.release_engineering"  # quality, q-time, equipment holds
    LOT_SPLIT = "lot.split"  # split, merge, scrap a wafer, record die and bin maps
    LOT_REWORK = "lot.rework"  # send a lot back to an earlier step of its route
    TOOL_STATE = "tool.state"
    TOOL_REGISTER = "tool.register"
    TOOL_QUALIFY = "tool.qualify"  # which tool may run which step and recipe
    RUN_EXECUTE = "run.execute"  # claim, record samples and alarms, complete
    RECIPE_IMPORT = "recipe.import"
    RECIPE_APPROVE = "recipe.approve"
    ROUTE_IMPORT = "route.import"
    USER_MANAGE = "user.manage"


_OPERATOR = {
    Permission.LOT_CREATE,
    Permission.LOT_MOVE,
    Permission.LOT_HOLD,
    Permission.LOT_RELEASE,
    Permission.TOOL_STATE,
    Permission.LOT_SPLIT,
}
_ENGINEER = _OPERATOR | {
    Permission.LOT_RELEASE_ENGINEERING,
    Permission.LOT_REWORK,
    Permission.RECIPE_IMPORT,
    Permission.RECIPE_APPROVE,
    Permission.ROUTE_IMPORT,
    Permission.TOOL_REGISTER,
    Permission.TOOL_QUALIFY,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.ENGINEER: frozenset(_ENGINEER),
    Role.ADMIN: frozenset(_ENGINEER | {Permission.USER_MANAGE}),
    Role.EQUIPMENT: frozenset(
        {Permission.RUN_EXECUTE, Permission.LOT_HOLD, Permission.TOOL_REGISTER}
    ),
}


def allowed(roles: frozenset[Role], permission: Permission) -> bool:
    """True when any of `roles` grants `permission`."""
    return any(permission in ROLE_PERMISSIONS[r] for r in roles)


def parse_roles(text: str) -> frozenset[Role]:
    """'operator,engineer' → roles; unknown names are an error naming the valid ones."""
    from mes.domain.errors import InvalidInput

    out = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.add(Role(part))
        except ValueError:
            valid = ", ".join(r.value for r in Role)
            raise InvalidInput(f"role {part!r} is not one of: {valid}") from None
    return frozenset(out)
