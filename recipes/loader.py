"""Read recipes from TOML, with errors that name the file, the field and the limit.

Three kinds of recipe exist, told apart by `[recipe].kind`: "oven" (a ramp
profile, `OvenRecipe`), "muf" (a molding-press cure cycle, `MufRecipe`) and
"plating" (a Cu electroplating program, `PlatingRecipe`). `parse_recipe` /
`load_recipe` take any; the kind-specific functions refuse the other kinds.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from pathlib import Path
from typing import Any

from recipes.errors import Problem, RecipeError, show_value, toml_type
from recipes.muf import MufRecipe
from recipes.oven import OvenRecipe, RampSegment
from recipes.plating import PlatingRecipe
from recipes.source import parse_toml, read_text, validate

Recipe = OvenRecipe | MufRecipe | PlatingRecipe
RECIPE_KINDS: dict[str, type[OvenRecipe] | type[MufRecipe] | type[PlatingRecipe]] = {
    "oven": OvenRecipe,
    "muf": MufRecipe,
    "plating": PlatingRecipe,
}


def parse_oven_recipe(text: str, source: str = "<string>") -> OvenRecipe:
    """Parse and validate recipe TOML; `source` names the text in error messages.

    Raises `RecipeError` listing every problem pydantic found, one per line.
    """
    data = parse_toml(text, source)
    header = data.get("recipe")
    kind = header.get("kind") if isinstance(header, dict) else None
    if kind in ("muf", "plating"):  # one clear line instead of every key the kinds differ in
        what = "a MUF recipe" if kind == "muf" else "a plating recipe"
        message = f"must be 'oven' (this is {what}; parse_recipe reads every kind)"
        raise RecipeError(source, [Problem("recipe.kind", message, show_value(kind))])
    return validate(OvenRecipe, data, source)


def load_oven_recipe(path: str | os.PathLike[str]) -> OvenRecipe:
    """Read and validate the recipe file at `path` (UTF-8 TOML).

    An unreadable file is a `RecipeError` too, so a caller has one error to handle.
    """
    return parse_oven_recipe(read_text(path), os.fspath(path))


def parse_recipe(text: str, source: str = "<string>") -> Recipe:
    """Parse a recipe of any kind, dispatching on `[recipe].kind`."""
    data = parse_toml(text, source)
    return validate(RECIPE_KINDS[_kind(data, source)], data, source)


def load_recipe(path: str | os.PathLike[str]) -> Recipe:
    """Read and validate the recipe file at `path`, of any kind (see `parse_recipe`)."""
    return parse_recipe(read_text(path), os.fspath(path))


def recipe_digest(content: str | bytes) -> str:
    """Hex SHA-256 of a recipe file's content (bytes as read; text is encoded UTF-8).

    The digest identifies exactly which text was approved and run; hash the
    bytes read from disk when you have them.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()


def library_path() -> Path:
    """The directory of the recipes that ship with pkgline."""
    return Path(__file__).parent / "library"


def library_recipes(kind: str | None = "oven") -> list[Path]:
    """The shipped recipe files of `kind` ("oven", "muf", "plating"; None: all), sorted by path.

    The default is "oven" because the callers that predate MUF recipes load
    every file they get with `load_oven_recipe`. A file whose kind cannot be
    read is listed under every kind, so that loading it reports the problem.
    """
    paths = sorted(library_path().rglob("*.toml"))
    return [p for p in paths if kind is None or _file_kind(p) in (kind, None)]


def check_against_tool(
    recipe: OvenRecipe,
    max_ramp_c_per_min: float,
    max_temp_c: float,
    *,
    source: str | None = None,
) -> None:
    """Refuse a recipe that asks more of a tool than it can do.

    Raises `RecipeError` (named `source`, default "<name> v<version>") with one
    line per segment whose rate or target exceeds the tool's capability.
    """
    problems: list[Problem] = []
    for i, seg in enumerate(recipe.segments):
        if isinstance(seg, RampSegment) and seg.rate_c_per_min > max_ramp_c_per_min:
            problems.append(
                Problem(
                    f"segments[{i}].rate_c_per_min",
                    f"exceeds the tool's maximum {show_value(max_ramp_c_per_min)} °C/min",
                    show_value(seg.rate_c_per_min),
                )
            )
        if seg.target_c > max_temp_c:
            problems.append(
                Problem(
                    f"segments[{i}].target_c",
                    f"exceeds the tool's maximum {show_value(max_temp_c)} °C",
                    show_value(seg.target_c),
                )
            )
    if problems:
        raise RecipeError(source or f"{recipe.name} v{recipe.version}", problems)


def _kind(data: dict[str, Any], source: str) -> str:
    """`[recipe].kind` of a parsed document, or a `RecipeError` saying what is wrong with it."""
    kinds = ", ".join(repr(k) for k in RECIPE_KINDS)
    header = data.get("recipe")
    if header is None:
        raise RecipeError(source, [Problem("recipe", "missing")])
    if not isinstance(header, dict):
        raise RecipeError(source, [Problem("recipe", f"must be a table, got {toml_type(header)}")])
    kind = header.get("kind")
    if kind is None:
        raise RecipeError(source, [Problem("recipe.kind", f"missing (one of {kinds})")])
    if not isinstance(kind, str) or kind not in RECIPE_KINDS:
        shown = show_value(kind)
        raise RecipeError(
            source, [Problem("recipe.kind", f"unknown kind {shown}: must be one of {kinds}")]
        )
    return kind


def _file_kind(path: Path) -> str | None:
    """`[recipe].kind` of the file at `path`, or None if it cannot be read."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    header = data.get("recipe")
    kind = header.get("kind") if isinstance(header, dict) else None
    return kind if isinstance(kind, str) else None
