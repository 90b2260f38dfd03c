"""The `kind[:key=value,...]` fault spec syntax every simulator's `--fault` takes.

`parse_spec` splits and checks a spec against the keys each fault kind takes;
the simulator's own `parse_fault` then checks the values (ranges, units) and
builds its `Fault`. Errors are FaultSpecError quoting the spec.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from typing import TypeVar

from simulators.errors import SimConfigError


class FaultSpecError(SimConfigError):
    """A fault spec that cannot be parsed; the message quotes the spec."""


K = TypeVar("K", bound=enum.StrEnum)


def parse_spec(
    spec: str,
    kinds: type[K],
    keys: Mapping[K, tuple[tuple[str, ...], tuple[str, ...]]],
) -> tuple[K, dict[str, str], Callable[[str], FaultSpecError]]:
    """The kind, its key=value arguments, and `bad(why)` (a FaultSpecError naming the spec).

    `keys[kind]` is (required keys, optional keys).
    """

    def bad(why: str) -> FaultSpecError:
        return FaultSpecError(f"bad fault spec {spec!r}: {why}")

    name, _, arg_text = spec.strip().partition(":")
    try:
        kind = kinds(name.strip())
    except ValueError:
        names = ", ".join(k.value for k in kinds)
        raise bad(f"unknown fault {name.strip()!r}; expected one of {names}") from None
    required, optional = keys[kind]
    args: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in arg_text.split(","))):
        key, eq, value = (s.strip() for s in item.partition("="))
        if not eq or not value:
            raise bad(f"expected key=value, got {item!r}")
        if key not in required + optional:
            takes = ", ".join(required + optional) or "no arguments"
            raise bad(f"{kind} takes {takes}; got {key!r}")
        if key in args:
            raise bad(f"{key} given twice")
        args[key] = value
    for key in required:
        if key not in args:
            raise bad(f"{key}= is required")
    return kind, args, bad


def parse_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def parse_float(text: str) -> float | None:
    """A finite float, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
