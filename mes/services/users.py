"""User transactions. Passwords and login arrive with the security issue; roles are here now."""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine
from sqlmodel import select

from mes.domain.errors import InvalidInput
from mes.domain.roles import Permission, Role, parse_roles
from mes.services import audit
from mes.services.auth import authorize
from mes.services.tx import transaction
from mes.store.tables import User

USER_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


def add(engine: Engine, actor: str, name: str, roles: str) -> User:
    if not USER_NAME.match(name):
        raise InvalidInput(f"user name {name!r}: lower-case letters, digits, '_', '.', '-'")
    parsed = parse_roles(roles)
    if not parsed:
        raise InvalidInput("roles: name at least one role")
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.USER_MANAGE)
        if s.get(User, name) is not None:
            raise InvalidInput(f"user {name} already exists")
        user = User(name=name, roles=",".join(sorted(r.value for r in parsed)))
        s.add(user)
        audit.record(s, actor, "user.add", "user", name, after={"roles": user.roles})
        return user


def bootstrap(engine: Engine, admin: str, equipment: str = "equipment") -> bool:
    """On an empty user table, create the first admin and the equipment actor. Audited."""
    with transaction(engine) as s:
        if s.exec(select(User)).first() is not None:
            return False
        s.add(User(name=admin, roles=Role.ADMIN.value))
        s.add(User(name=equipment, roles=Role.EQUIPMENT.value))
        audit.record(
            s,
            "system",
            "user.bootstrap",
            "user",
            admin,
            after={"admin": admin, "equipment": equipment},
        )
        return True


def exists(engine: Engine, name: str) -> bool:
    with transaction(engine) as s:
        return s.get(User, name) is not None


__all__ = ["Permission", "add", "bootstrap", "exists"]
