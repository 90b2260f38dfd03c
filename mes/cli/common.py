"""Shared CLI plumbing: the database, the acting user, output and exit codes."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from sqlalchemy.engine import Engine

from mes.store.db import create_schema, make_engine, resolve_database_url

EXIT_OK = 0
EXIT_FAILED = 1  # a check or a run failed (a lot held, tampering found)
EXIT_BAD_INPUT = 2  # usage, a bad file, a refused action


class CliError(Exception):
    """Bad input at the command line: printed without traceback, exit 2."""


def engine_from(args: argparse.Namespace, config_url: str | None = None) -> Engine:
    engine = make_engine(resolve_database_url(getattr(args, "db", None), config_url))
    create_schema(engine)
    return engine


def actor_from(args: argparse.Namespace) -> str:
    """--user beats PKGLINE_USER, which beats the login name."""
    return str(getattr(args, "user", None) or os.environ.get("PKGLINE_USER") or getpass.getuser())


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
