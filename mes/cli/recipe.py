"""`pkgline recipe …`: check, show, import, approve, list."""

from __future__ import annotations

import argparse
from pathlib import Path

from drivers.cure_oven import registers as oven_reg
from mes.cli.common import EXIT_OK, actor_from, emit, engine_from, table
from mes.services import recipes as recipe_service
from recipes.loader import check_against_tool, load_oven_recipe
from recipes.render import describe, render_profile

TOOL_MAX_RAMP = oven_reg.SEGMENT_RATE_RANGE[1]
TOOL_MAX_TEMP = oven_reg.SEGMENT_TARGET_RANGE[1]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("recipe", help="recipes: check, show, import, approve, list")
    rsub = p.add_subparsers(dest="recipe_cmd", required=True)
    for name, text in (("check", "validate a recipe file"), ("show", "describe and draw a recipe")):
        c = rsub.add_parser(name, help=text)
        c.add_argument("file", type=Path)
        c.add_argument(
            "--tool-max-ramp",
            type=float,
            default=TOOL_MAX_RAMP,
            help=f"the oven's maximum ramp rate, °C/min (default {TOOL_MAX_RAMP:g})",
        )
        c.add_argument(
            "--tool-max-temp",
            type=float,
            default=TOOL_MAX_TEMP,
            help=f"the oven's maximum temperature, °C (default {TOOL_MAX_TEMP:g})",
        )
    i = rsub.add_parser("import", help="store a recipe file as a new version (engineer)")
    i.add_argument("file", type=Path)
    a = rsub.add_parser("approve", help="approve a recipe version (engineer)")
    a.add_argument("name")
    a.add_argument("version", type=int)
    rsub.add_parser("list", help="stored recipe versions")


def run(args: argparse.Namespace) -> int:
    cmd = args.recipe_cmd
    if cmd in ("check", "show"):
        recipe = load_oven_recipe(args.file)
        check_against_tool(recipe, args.tool_max_ramp, args.tool_max_temp, source=str(args.file))
        if cmd == "check":
            emit(
                args,
                f"{args.file}: ok ({recipe.name} v{recipe.version}, "
                f"{len(recipe.segments)} segments)",
                {
                    "file": str(args.file),
                    "name": recipe.name,
                    "version": recipe.version,
                    "ok": True,
                },
            )
        else:
            emit(
                args,
                describe(recipe) + "\n\n" + render_profile(recipe),
                recipe.model_dump(mode="json"),
            )
        return EXIT_OK
    engine = engine_from(args)
    actor = "" if cmd == "list" else actor_from(args)  # reading needs no login
    if cmd == "import":
        row = recipe_service.import_file(engine, actor, args.file)
        emit(
            args,
            f"recipe {row.name} v{row.version} stored "
            f"({'approved' if row.approved else 'not approved'})",
            {"name": row.name, "version": row.version, "approved": row.approved},
        )
    elif cmd == "approve":
        row = recipe_service.approve(engine, actor, args.name, args.version)
        emit(
            args,
            f"recipe {row.name} v{row.version} approved by {row.approved_by}",
            {"name": row.name, "version": row.version, "approved_by": row.approved_by},
        )
    else:
        rows = recipe_service.listing(engine)
        emit(
            args,
            table(
                ["name", "version", "kind", "approved", "by"],
                [
                    [
                        r.name,
                        str(r.version),
                        r.kind,
                        "yes" if r.approved else "no",
                        r.approved_by or "",
                    ]
                    for r in rows
                ],
            ),
            [r.model_dump(exclude={"body"}) for r in rows],
        )
    return EXIT_OK
