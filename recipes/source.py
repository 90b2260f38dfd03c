"""Reading recipe and material files: bytes to text to TOML to a validated model.

Every failure is a `RecipeError` naming the file, so a caller has one error to handle.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from recipes.errors import Problem, RecipeError
from recipes.explain import explain

M = TypeVar("M", bound=BaseModel)

# Python 3.11's TOMLDecodeError has no lineno/colno (3.14 adds them); its
# message ends "(at line 3, column 9)".
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = " (at end of document)"


def read_text(path: str | os.PathLike[str]) -> str:
    """The UTF-8 text of the file at `path` (a BOM is tolerated)."""
    source = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise RecipeError(source, [Problem("", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        return raw.decode("utf-8-sig")  # tolerate the BOM some editors write
    except UnicodeDecodeError as exc:
        problem = Problem("", f"not UTF-8 text (byte {exc.start})")
        raise RecipeError(source, [problem]) from None


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The TOML document in `text`; a syntax error names `source`, the line and the column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(source, [syntax_problem(exc, text)]) from None


def validate(
    model: type[M], data: dict[str, Any], source: str, context: dict[str, Any] | None = None
) -> M:
    """`model` validated from `data`, or a `RecipeError` with one line per problem."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise RecipeError(source, explain(exc, model)) from None


def syntax_problem(exc: tomllib.TOMLDecodeError, text: str) -> Problem:
    """A TOML syntax error as a `Problem` located by line and column."""
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
