"""Read oven recipes from TOML, with errors that name the file, the field and the limit."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from recipes.errors import Problem, RecipeError, show_value
from recipes.explain import explain
from recipes.oven import OvenRecipe, RampSegment

# Python 3.11's TOMLDecodeError has no lineno/colno (3.14 adds them); its
# message ends "(at line 3, column 9)".
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = " (at end of document)"


def parse_oven_recipe(text: str, source: str = "<string>") -> OvenRecipe:
    """Parse and validate recipe TOML; `source` names the text in error messages.

    Raises `RecipeError` listing every problem pydantic found, one per line.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(source, [_syntax_problem(exc, text)]) from None
    try:
        return OvenRecipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(source, explain(exc, OvenRecipe)) from None


def load_oven_recipe(path: str | os.PathLike[str]) -> OvenRecipe:
    """Read and validate the recipe file at `path` (UTF-8 TOML).

    An unreadable file is a `RecipeError` too, so a caller has one error to handle.
    """
    source = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise RecipeError(source, [Problem("", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate the BOM some editors write
    except UnicodeDecodeError as exc:
        problem = Problem("", f"not UTF-8 text (byte {exc.start})")
        raise RecipeError(source, [problem]) from None
    return parse_oven_recipe(text, source)


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


def library_recipes() -> list[Path]:
    """The shipped recipe files, sorted by path."""
    return sorted(library_path().rglob("*.toml"))


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


def _syntax_problem(exc: tomllib.TOMLDecodeError, text: str) -> Problem:
    msg = str(exc)
    line: int | None = getattr(exc, "lineno", None)
    column: int | None = getattr(exc, "colno", None)
    if (m := _TOML_AT.search(msg)) is not None:
        msg = msg[: m.start()]
        line, column = line or int(m.group(1)), column or int(m.group(2))
    elif msg.endswith(_AT_END):
        msg = msg.removesuffix(_AT_END)
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    return Problem("", f"invalid TOML: {msg}", line=line, column=column)
