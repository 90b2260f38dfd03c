"""Turn pydantic's validation errors into readable recipe problems, one per line.

Pydantic locates an error by a tuple such as `('segments', 1, 'soak',
'duration_min')`, where `'soak'` is the tag of the discriminated union and not
a key the user wrote. We walk that location through the schema so the path
reads `segments[1].duration_min`, and so an unknown key can be compared with
the keys that are allowed where it stands.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from recipes.errors import RULE_ERROR, Problem, show_value, toml_type

Loc = Sequence[int | str]

# pydantic error type → (its context key, the comparison it failed)
_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}


def explain(error: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """One `Problem` per pydantic error (a cross-field rule may give several)."""
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        problems.extend(_explain_one(detail, root))
    return problems


def _explain_one(d: ErrorDetails, root: type[BaseModel]) -> list[Problem]:
    kind, loc, ctx, value = d["type"], d["loc"], d.get("ctx", {}), d.get("input")
    path, node = _walk(root, loc)
    shown = show_value(value) if _is_scalar(value) else None
    got = f", got {toml_type(value)}"

    if kind == RULE_ERROR:
        return [
            Problem(_join(path, p["path"]), p["expect"], show_value(p["value"]))
            for p in ctx["problems"]
        ]
    if kind == "missing":
        return [Problem(path, "missing")]
    if kind == "extra_forbidden":
        parent_path, parent = _walk(root, loc[:-1])
        key = str(loc[-1])
        if parent_path and key in root.model_fields:
            # TOML puts every key written after a [table] header into that table.
            message = f"unknown key {key!r} (top-level keys go before the first [table] header)"
        else:
            message = _unknown_key(key, parent)
        return [Problem(parent_path or "(top level)", message)]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        field = str(ctx.get("discriminator", "'kind'")).strip("'")
        tags = ", ".join(repr(t) for t in _tags(node)) or ctx.get("expected_tags", "")
        if kind == "union_tag_not_found":
            return [Problem(_join(path, field), f"missing (one of {tags})")]
        tag = show_value(ctx.get("tag"))
        return [Problem(_join(path, field), f"unknown {field} {tag}: must be one of {tags}")]

    if kind in _BOUNDS:
        key, op = _BOUNDS[kind]
        return [Problem(path, f"must be {op} {show_value(ctx[key])}", shown)]
    messages: dict[str, str] = {
        "finite_number": "must be a finite number",
        "float_type": "must be a number" + got,
        "float_parsing": "must be a number" + got,
        "int_type": "must be an integer" + got,
        "int_parsing": "must be an integer" + got,
        "int_from_float": "must be an integer" + got,
        "bool_type": "must be true or false" + got,
        "bool_parsing": "must be true or false" + got,
        "string_type": "must be a string" + got,
        "model_type": "must be a table" + got,
        "model_attributes_type": "must be a table" + got,
        "dict_type": "must be a table" + got,
        "list_type": "must be an array" + got,
        "literal_error": f"must be {ctx.get('expected')}",
        "enum": f"must be one of {ctx.get('expected')}",
        "too_short": f"must have at least {ctx.get('min_length')} item(s)",
        "too_long": f"must have at most {ctx.get('max_length')} items",
        "string_too_short": f"must be at least {ctx.get('min_length')} character(s) long",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters long",
        "string_pattern_mismatch": f"must match the pattern {ctx.get('pattern')}",
    }
    if kind in messages:
        return [Problem(path, messages[kind], shown)]
    # Anything else (a plain ValueError from a validator, a future type): pydantic's
    # own sentence, minus its prefix.
    msg = d["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    return [Problem(path, msg, shown)]


def _is_scalar(value: object) -> bool:
    return not isinstance(value, dict | list | tuple) and value is not None


def _join(path: str, rel: str) -> str:
    if not path:
        return rel.removeprefix(".")
    return path + rel if rel.startswith("[") else f"{path}.{rel}"


def _unknown_key(key: str, model: Any) -> str:
    msg = f"unknown key {key!r}"
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return msg
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"{msg} (did you mean {close[0]!r}?)"
    return f"{msg} (allowed: {', '.join(allowed)})"


def _strip(annotation: Any) -> Any:
    """Drop `Annotated[...]` wrappers."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _union_members(annotation: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return tuple(_strip(a) for a in typing.get_args(annotation))
    return ()


def _tags(annotation: Any) -> dict[str, type[BaseModel]]:
    """Tag → model of a union discriminated by `kind` (empty if `annotation` is not one)."""
    out: dict[str, type[BaseModel]] = {}
    for member in _union_members(_strip(annotation)):
        if (
            isinstance(member, type)
            and issubclass(member, BaseModel)
            and "kind" in member.model_fields
        ):
            for tag in typing.get_args(member.model_fields["kind"].annotation):
                out[str(tag)] = member
    return out


def _walk(root: type[BaseModel], loc: Loc) -> tuple[str, Any]:
    """The display path of `loc` and the schema node (model or annotation) it ends at."""
    path = ""
    node: Any = root
    i = 0
    while i < len(loc):
        key = loc[i]
        node = _strip(node)
        if isinstance(key, int):
            path += f"[{key}]"
            args = typing.get_args(node)
            node = _strip(args[0]) if args else None
            tags = _tags(node)
            if tags and i + 1 < len(loc) and loc[i + 1] in tags:
                node = tags[str(loc[i + 1])]
                i += 1  # the union tag is pydantic's, not the user's
        else:
            path = f"{path}.{key}" if path else key
            fields = (
                node.model_fields if isinstance(node, type) and issubclass(node, BaseModel) else {}
            )
            node = fields[key].annotation if key in fields else None
        i += 1
    return path, node
