"""Errors for bad recipe input: one line per problem, naming the file, the field and the limit."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

# pydantic error type raised by the schema's cross-field rules. Its context
# carries `problems`: dicts with `path` (relative to the error's location),
# `value` and `expect`, so each offending field gets its own line.
RULE_ERROR = "recipe_rule"


def show_value(value: object) -> str:
    """Spell a value as it would be written in TOML (`3` not `3.0`, `true` not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(str(value), repr(value))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return str(value)


def toml_type(value: object) -> str:
    """The TOML name of a value's type, for 'got …' in messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dt.date | dt.time):
        return "a date/time"
    return type(value).__name__


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a recipe: where it is and what was expected.

    `path` is the field path (`segments[1].rate_c_per_min`, "" for the file as
    a whole); `value` the offending value as written, when showing it helps;
    `line`/`column` locate TOML syntax errors, which have no field path.
    """

    path: str
    message: str
    value: str | None = None
    line: int | None = None
    column: int | None = None

    def render(self, source: str) -> str:
        """`source: path = value: message`, or `source:line:column: message`."""
        if self.line is not None:
            where = f"{source}:{self.line}" + (f":{self.column}" if self.column else "")
            return f"{where}: {self.message}"
        head = f"{source}: {self.path}" if self.path else source
        if self.value is not None:
            head += f" = {self.value}"
        return f"{head}: {self.message}"


class RecipeError(ValueError):
    """A recipe that cannot be used. `str()` is one line per problem, each naming `source`."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems) or (Problem("", "invalid recipe"),)
        super().__init__("\n".join(self.lines))

    @property
    def lines(self) -> list[str]:
        """The message, one line per problem."""
        return [p.render(self.source) for p in self.problems]

    def __reduce__(self) -> tuple[type[RecipeError], tuple[str, tuple[Problem, ...]]]:
        # ValueError pickles by its args; ours are (source, problems).
        return (type(self), (self.source, self.problems))
