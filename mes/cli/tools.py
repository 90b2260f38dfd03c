"""`pkgline tool register|qualify|disqualify|quals`: which tool may run which step and recipe."""

from __future__ import annotations

import argparse

from sqlalchemy.engine import Engine

from mes.cli.common import EXIT_OK, actor_from, emit, table
from mes.domain.equipment import TOOL_TYPES
from mes.domain.qualification import scope
from mes.services import qualification, tools

COMMANDS = frozenset({"register", "qualify", "disqualify", "quals"})


def add_parsers(tsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the registration and qualification verbs to the `tool` parser's subcommands."""
    r = tsub.add_parser(
        "register", help="register a tool before its daemon first runs, to qualify it (engineer)"
    )
    r.add_argument("tool_id")
    r.add_argument("type", help=f"one of: {', '.join(TOOL_TYPES)}")
    q = tsub.add_parser("qualify", help="qualify a tool for a route step (engineer)")
    q.add_argument("tool_id")
    q.add_argument("step", help="route step, e.g. PMC; PI_CURE also covers RDL1.PI_CURE")
    q.add_argument("--recipe", help="only this recipe of the step (default: any)")
    d = tsub.add_parser("disqualify", help="withdraw a qualification, with a reason (engineer)")
    d.add_argument("tool_id")
    d.add_argument("step")
    d.add_argument("--recipe", help="the recipe it was qualified for (default: any)")
    d.add_argument("--reason", required=True)
    ls = tsub.add_parser("quals", help="qualifications, of every tool or one")
    ls.add_argument("tool_id", nargs="?")


def run(args: argparse.Namespace, engine: Engine) -> int:
    if args.tool_cmd == "register":
        t = tools.register(engine, actor_from(args), args.tool_id, args.type)
        emit(args, f"tool {t.id} ({t.type}) is {t.e10_state}", {"tool": t.id, "type": t.type})
    elif args.tool_cmd == "qualify":
        q = qualification.qualify(engine, actor_from(args), args.tool_id, args.step, args.recipe)
        emit(
            args,
            f"tool {q.tool_id} qualified for {scope(q.step, q.recipe)}",
            {"tool": q.tool_id, "step": q.step, "recipe": q.recipe},
        )
    elif args.tool_cmd == "disqualify":
        q = qualification.disqualify(
            engine, actor_from(args), args.tool_id, args.step, args.recipe, args.reason
        )
        emit(
            args,
            f"tool {q.tool_id} no longer qualified for {scope(q.step, q.recipe)}",
            {"tool": q.tool_id, "step": q.step, "recipe": q.recipe},
        )
    else:
        rows = qualification.qualifications(engine, args.tool_id)
        emit(
            args,
            table(
                ["tool", "step", "recipe", "qualified by", "at (UTC)"],
                [
                    [
                        q.tool_id,
                        q.step,
                        q.recipe or "any",
                        q.qualified_by,
                        f"{q.qualified_at:%Y-%m-%d %H:%M}",
                    ]
                    for q in rows
                ],
            )
            if rows
            else f"tool {args.tool_id} has no qualifications: track-in refuses it at every step"
            if args.tool_id
            else "no qualifications: track-in refuses every tool at every step",
            [q.__dict__ for q in rows],
        )
    return EXIT_OK
