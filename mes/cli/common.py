"""Shared CLI plumbing: the database, the acting user, output and exit codes."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from sqlalchemy.engine import Engine

from mes.store import migrate
from mes.store.db import make_engine, resolve_database_url

EXIT_OK = 0
EXIT_FAILED = 1  # a check or a run failed (a lot held, tampering found)
EXIT_BAD_INPUT = 2  # usage, a bad file, a refused action


class CliError(Exception):
    """Bad input at the command line: printed without traceback, exit 2."""


def engine_from(
    args: argparse.Namespace, config_url: str | None = None, *, upgrade: bool = True
) -> Engine:
    """The command's database with its schema at this pkgline's head.

    An embedded SQLite file, and a database without a schema revision yet, are brought
    there on the spot. A shared database at an older revision is not: daemons of the older
    pkgline may still run on it, so the upgrade is an explicit `pkgline db upgrade`.
    """
    engine = _opened(make_engine(database_url(args, config_url)))
    if upgrade:
        at = migrate.current(engine)
        if engine.dialect.name == "sqlite" or at is None:
            migrate.upgrade(engine)
        elif at != migrate.head():
            engine.dispose()
            raise CliError(
                f"database schema is at revision {at}, this pkgline's is {migrate.head()}: "
                "if the database is older, stop the line's daemons and run 'pkgline db upgrade'; "
                "if it is newer, upgrade pkgline"
            )
    return engine


_ENGINES: list[Engine] = []


def _opened(engine: Engine) -> Engine:
    _ENGINES.append(engine)
    return engine


def close_engines() -> None:
    """Close the connection pools this command opened (called once it has finished)."""
    while _ENGINES:
        _ENGINES.pop().dispose()


def database_url(args: argparse.Namespace, config_url: str | None = None) -> str:
    return resolve_database_url(getattr(args, "db", None), config_url)


def actor_from(args: argparse.Namespace) -> str:
    """The logged-in user of this database (see `pkgline login`); a refusal says how to log in."""
    from mes.cli import session
    from mes.services import users

    url = database_url(args)
    token = session.token_for(url)
    if token is None:
        raise CliError("not logged in to this database: run 'pkgline login NAME' first")
    return users.session_user(_opened(make_engine(url)), token)


def read_password(args: argparse.Namespace, prompt: str, *, confirm: bool = False) -> str:
    """A password from one line of standard input (--password-stdin) or from the terminal."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise CliError("--password-stdin: standard input ended before a password")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for a password: pass it with --password-stdin")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("again: ") != first:
        raise CliError("the two passwords differ; nothing changed")
    return first


def emit(args: argparse.Namespace, human: str, data: Any) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, default=str, indent=2))
    else:
        print(human)


def err(message: str) -> None:
    print(f"pkgline: {message}", file=sys.stderr)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)
