"""Entry point of `pkgline`: parse, dispatch, turn typed errors into messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import IntegrityError, OperationalError

from mes.cli import admin, lot, recipe, report, run, users, wafer
from mes.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, CliError, close_engines, err
from mes.domain.errors import DomainError
from recipes.errors import RecipeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pkgline",
        description="Equipment control and MES for advanced-packaging lines.",
    )
    parser.add_argument(
        "--db", help="database URL (beats PKGLINE_DATABASE_URL and the line config)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lot.add_parser(sub)
    wafer.add_parser(sub)
    recipe.add_parser(sub)
    admin.add_parsers(sub)
    users.add_parsers(sub)
    report.add_parser(sub)
    run.add_parsers(sub)
    return parser


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "lot": lot.run,
    "wafer": wafer.run,
    "recipe": recipe.run,
    "db": admin.run,
    "user": users.run,
    "login": users.run,
    "logout": users.run,
    "whoami": users.run,
    "route": admin.run,
    "tool": admin.run,
    "alarm": admin.run,
    "audit": admin.run,
    "report": report.run,
    "sim": run.sim,
    "daemon": run.daemon,
    "tui": run.tui,
    "demo": run.demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except (DomainError, RecipeError, CliError, ValueError) as exc:
        # Typed user errors: one clear message, no traceback, nothing changed.
        err(str(exc))
        return EXIT_BAD_INPUT
    except IntegrityError as exc:
        # Two people created the same thing at the same moment: the database kept one.
        err(f"conflict: {exc.orig} (someone else just wrote the same record; look again)")
        return EXIT_BAD_INPUT
    except OperationalError as exc:
        err(f"database error: {exc.orig}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    finally:
        close_engines()


if __name__ == "__main__":
    sys.exit(main())
