"""Users: add, passwords (salted scrypt), roles, and login sessions for the CLI and TUI."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from mes.domain.errors import InvalidInput, NotFound, PermissionDenied
from mes.domain.passwords import (
    check_policy,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)
from mes.domain.roles import Permission, Role, parse_roles
from mes.services import audit
from mes.services.auth import authorize
from mes.services.tx import transaction
from mes.store.tables import LoginSession, User, as_utc, utcnow

USER_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
SESSION_HOURS = 12.0  # one shift
LOGIN_FAILED = "login failed: unknown user or wrong password"


def _check_name(name: str) -> str:
    if not USER_NAME.match(name):
        raise InvalidInput(f"user name {name!r}: lower-case letters, digits, '_', '.', '-'")
    return name


def _roles_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(r.value for r in roles))


def check_new(name: str, roles: str) -> frozenset[Role]:
    """Validate a new user's name and roles (before anyone is asked for a password)."""
    _check_name(name)
    parsed = parse_roles(roles)
    if not parsed:
        raise InvalidInput("roles: name at least one role")
    return parsed


def add(engine: Engine, actor: str, name: str, roles: str, password: str | None = None) -> User:
    """Add a user. Without a password the account cannot log in until an admin sets one."""
    parsed = check_new(name, roles)
    if password is not None:
        check_policy(name, password)
    stored = None if password is None else hash_password(password)  # outside the write lock
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.USER_MANAGE)
        if s.get(User, name) is not None:
            raise InvalidInput(f"user {name} already exists")
        user = User(name=name, roles=_roles_text(parsed), password_hash=stored)
        s.add(user)
        audit.record(
            s,
            actor,
            "user.add",
            "user",
            name,
            after={"roles": user.roles, "password_set": password is not None},
        )
        return user


def require_admin(engine: Engine, actor: str) -> None:
    """Refuse (audited) an actor who may not manage users, before any input is asked for."""
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.USER_MANAGE)


def set_roles(engine: Engine, actor: str, name: str, roles: str) -> User:
    """Replace a user's roles (admin). An admin cannot take admin away from themself."""
    parsed = parse_roles(roles)
    if not parsed:
        raise InvalidInput("roles: name at least one role")
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.USER_MANAGE)
        user = s.get(User, name)
        if user is None:
            raise NotFound(f"user {name!r} does not exist")
        if name == actor and Role.ADMIN not in parsed:
            raise InvalidInput("roles: an admin cannot remove their own admin role")
        if Role.ADMIN not in parsed:
            # Lock every admin row: two admins demoting each other at once run one after
            # the other, and the second finds it would leave the line without an admin.
            admins = [
                u.name
                for u in s.exec(select(User).with_for_update())
                if Role.ADMIN in parse_roles(u.roles)
            ]
            if admins == [name]:
                raise InvalidInput(f"roles: {name} is the last admin; name another admin first")
        before = user.roles
        user.roles = _roles_text(parsed)
        s.add(user)
        audit.record(
            s,
            actor,
            "user.roles",
            "user",
            name,
            before={"roles": before},
            after={"roles": user.roles},
        )
        return user


def set_password(
    engine: Engine, actor: str, name: str, new: str, current: str | None = None
) -> None:
    """Change a password: your own with the current one, anyone's as an admin.

    Every open session of the user ends: a changed password logs them out everywhere.
    A wrong current password is refused and audited. The slow hashing happens outside the
    transaction, so it never holds the database's write lock.
    """
    check_policy(name, new)
    new_hash = hash_password(new)
    if actor == name:
        found, stored = _stored_hash(engine, name)
        if not found:
            raise NotFound(f"user {name!r} does not exist")
        if stored is not None and not verify_password(current or "", stored):
            with transaction(engine) as s:
                audit.record(s, actor, "user.passwd_denied", "user", name, reason="wrong current")
            raise PermissionDenied("password: the current password is wrong")
    with transaction(engine) as s:
        if actor != name:
            authorize(engine, s, actor, Permission.USER_MANAGE)
        user = s.get(User, name)
        if user is None:
            raise NotFound(f"user {name!r} does not exist")
        user.password_hash = new_hash
        s.add(user)
        s.execute(
            update(LoginSession)
            .where(col(LoginSession.user) == name, col(LoginSession.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
        audit.record(s, actor, "user.passwd", "user", name, after={"sessions_revoked": True})


def _stored_hash(engine: Engine, name: str) -> tuple[bool, str | None]:
    with transaction(engine) as s:
        user = s.get(User, name)
        return (user is not None, user.password_hash if user is not None else None)


@cache
def _decoy_hash() -> str:
    """Checked when the user or their password does not exist, so that a login takes as
    long for a name that exists as for one that does not (no user enumeration by timing)."""
    return hash_password(new_token())


@dataclass(frozen=True)
class Login:
    user: str
    token: str
    roles: str
    hours: float


def login(engine: Engine, name: str, password: str, hours: float = SESSION_HOURS) -> Login:
    """Check the password and open a session; the token is returned once, stored hashed."""
    if not 0 < hours <= 24 * 7:
        raise InvalidInput(f"session hours = {hours}: must be in (0, 168]")
    _, stored = _stored_hash(engine, name)
    ok = verify_password(password, stored or _decoy_hash()) and stored is not None
    with transaction(engine) as s:
        user = s.get(User, name)
        if not ok or user is None or user.password_hash != stored:
            audit.record(s, name, "user.login_failed", "user", name, reason="bad credentials")
        else:
            token = new_token()
            now = utcnow()
            s.add(
                LoginSession(
                    token_hash=token_digest(token),
                    user=name,
                    created_at=now,
                    expires_at=now + timedelta(hours=hours),
                )
            )
            audit.record(s, name, "user.login", "user", name, after={"hours": hours})
            return Login(name, token, user.roles, hours)
    # The failed attempt is committed (audited) before the refusal.
    raise PermissionDenied(LOGIN_FAILED)


def session_user(engine: Engine, token: str) -> str:
    """The user a token logs in, if the session is open and not expired."""
    with transaction(engine) as s:
        row = s.get(LoginSession, token_digest(token))
        now = utcnow()
        if row is None or row.revoked_at is not None:
            raise PermissionDenied("not logged in (the session ended): run 'pkgline login'")
        if as_utc(row.expires_at) <= now:
            raise PermissionDenied("session expired: run 'pkgline login' again")
        return row.user


def logout(engine: Engine, token: str) -> str | None:
    with transaction(engine) as s:
        row = s.get(LoginSession, token_digest(token))
        if row is None or row.revoked_at is not None:
            return None
        row.revoked_at = utcnow()
        s.add(row)
        audit.record(s, row.user, "user.logout", "user", row.user)
        return row.user


def bootstrap(
    engine: Engine, admin: str, equipment: str = "equipment", password: str | None = None
) -> bool:
    """On an empty user table, create the first admin and the equipment actor. Audited."""
    _check_name(admin)
    if password is not None:
        check_policy(admin, password)
    stored = None if password is None else hash_password(password)  # outside the write lock
    with transaction(engine) as s:
        if s.exec(select(User)).first() is not None:
            return False
        s.add(User(name=admin, roles=Role.ADMIN.value, password_hash=stored))
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


def is_empty(engine: Engine) -> bool:
    with transaction(engine) as s:
        return s.exec(select(User)).first() is None


def exists(engine: Engine, name: str) -> bool:
    with transaction(engine) as s:
        return s.get(User, name) is not None


def all_users(engine: Engine) -> list[User]:
    with transaction(engine) as s:
        return list(s.exec(select(User).order_by(col(User.name))))


__all__ = [
    "Login",
    "Permission",
    "add",
    "all_users",
    "bootstrap",
    "check_new",
    "exists",
    "is_empty",
    "login",
    "logout",
    "require_admin",
    "session_user",
    "set_password",
    "set_roles",
]
