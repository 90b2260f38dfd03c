"""Authorization, in one place: every service call names its actor and its permission."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from mes.domain.errors import NotFound, PermissionDenied
from mes.domain.roles import Permission, Role, allowed, parse_roles
from mes.services import audit
from mes.services.tx import transaction
from mes.store.tables import User

# Core, not ORM: this runs at the start of every transaction, so it is kept cheap.
_USERS = User.__table__  # type: ignore[attr-defined]
_ROLES = select(_USERS.c.roles).where(_USERS.c.name == bindparam("name"))


@dataclass(frozen=True)
class Actor:
    name: str
    roles: frozenset[Role]


def authorize(engine: Engine, session: Session, actor: str, permission: Permission) -> Actor:
    """Load the actor and check `permission`; a refusal is audited in its own transaction."""
    text = session.connection().execute(_ROLES, {"name": actor}).scalar_one_or_none()
    if text is None:
        raise NotFound(f"user {actor!r} does not exist (create it with 'pkgline user add')")
    roles = parse_roles(text)
    if not allowed(roles, permission):
        # Authorization comes first in every transaction, so nothing is lost by ending it
        # here; that frees the write lock for the refusal's own audit record.
        session.rollback()
        with transaction(engine) as s:
            audit.record(
                s,
                actor,
                "denied",
                "permission",
                permission.value,
                reason=f"roles {sorted(r.value for r in roles)} lack {permission.value}",
            )
        raise PermissionDenied(
            f"{actor} ({', '.join(sorted(r.value for r in roles))}) may not {permission.value}"
        )
    return Actor(actor, roles)
