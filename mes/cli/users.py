"""`pkgline login|logout|whoami` and `pkgline user add|passwd|roles|list`."""

from __future__ import annotations

import argparse

from mes.cli import session
from mes.cli.common import (
    EXIT_OK,
    actor_from,
    database_url,
    emit,
    engine_from,
    read_password,
    table,
)
from mes.services import users

STDIN_HELP = "read the password from one line of standard input (for scripts)"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    login = sub.add_parser("login", help="log in to this database: a session for later commands")
    login.add_argument("name")
    login.add_argument("--hours", type=float, default=users.SESSION_HOURS, help="session length")
    login.add_argument("--password-stdin", action="store_true", help=STDIN_HELP)
    login.add_argument(
        "--print-token",
        action="store_true",
        help="print the token (for PKGLINE_TOKEN) instead of saving it in the session file",
    )
    sub.add_parser("logout", help="end this database's session")
    sub.add_parser("whoami", help="the logged-in user and roles")

    user = sub.add_parser("user", help="users: add, passwd, roles, list")
    usub = user.add_subparsers(dest="user_cmd", required=True)
    ua = usub.add_parser("add", help="add a user with roles and a password (admin)")
    ua.add_argument("name")
    ua.add_argument("--roles", required=True, help="comma-separated: operator, engineer, admin")
    ua.add_argument("--password-stdin", action="store_true", help=STDIN_HELP)
    up = usub.add_parser(
        "passwd", help="change a password: your own (asks the current one) or, as admin, anyone's"
    )
    up.add_argument("name", nargs="?", help="default: yourself")
    up.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the passwords from standard input: current (own password only), then new",
    )
    ur = usub.add_parser("roles", help="replace a user's roles (admin)")
    ur.add_argument("name")
    ur.add_argument("roles", help="comma-separated: operator, engineer, admin")
    usub.add_parser("list", help="users and their roles")


def run(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    url = database_url(args)
    if args.command == "login":
        password = read_password(args, f"password for {args.name}: ")
        result = users.login(engine, args.name, password, args.hours)
        if args.print_token:
            print(result.token)
            return EXIT_OK
        path = session.save(url, result.user, result.token)
        emit(
            args,
            f"logged in as {result.user} ({result.roles}) for {result.hours:g} h "
            f"(session kept in {path})",
            {"user": result.user, "roles": result.roles, "hours": result.hours},
        )
    elif args.command == "logout":
        token = session.token_for(url)
        who = users.logout(engine, token) if token else None
        session.forget(url)
        emit(args, f"logged out {who}" if who else "no session", {"user": who})
    elif args.command == "whoami":
        name = actor_from(args)
        roles = next(u.roles for u in users.all_users(engine) if u.name == name)
        emit(args, f"{name} ({roles})", {"user": name, "roles": roles})
    elif args.user_cmd == "add":
        actor = actor_from(args)
        users.require_admin(engine, actor)  # refuse before asking for a password
        users.check_new(args.name, args.roles)
        password = read_password(args, f"password for {args.name}: ", confirm=True)
        u = users.add(engine, actor, args.name, args.roles, password)
        emit(args, f"user {u.name} added with roles {u.roles}", {"name": u.name, "roles": u.roles})
    elif args.user_cmd == "passwd":
        actor = actor_from(args)
        name = args.name or actor
        current = read_password(args, "current password: ") if name == actor else None
        new = read_password(args, f"new password for {name}: ", confirm=True)
        users.set_password(engine, actor, name, new, current)
        if name == actor:
            session.forget(url)
        emit(
            args,
            f"password of {name} changed; their sessions ended"
            + ("; log in again" if name == actor else ""),
            {"user": name},
        )
    elif args.user_cmd == "roles":
        u = users.set_roles(engine, actor_from(args), args.name, args.roles)
        emit(args, f"user {u.name} now has roles {u.roles}", {"name": u.name, "roles": u.roles})
    else:
        rows = users.all_users(engine)
        emit(
            args,
            table(
                ["user", "roles", "can log in"],
                [[u.name, u.roles, "yes" if u.password_hash else "no"] for u in rows],
            ),
            [{"name": u.name, "roles": u.roles, "login": bool(u.password_hash)} for u in rows],
        )
    return EXIT_OK
