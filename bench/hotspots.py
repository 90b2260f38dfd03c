"""Where the time of a missed target goes: cProfile of the same work, as shares of its time.

Two views: by layer (the file a function's own time is spent in: SQLAlchemy, the database
driver, pkgline's code, the rest) and by pkgline function (cumulative, so nested functions
overlap: audit.record inside track_in, load_route inside advance).
"""

from __future__ import annotations

import cProfile
import pstats
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

# Entry points whose cumulative share is the whole: not worth a line.
_ENTRY = {"track_in", "track_out", "move_all", "walk"}


@dataclass(frozen=True)
class Shares:
    calls: int  # how many units of work ran under the profiler (moves)
    total_s: float
    layers: list[tuple[str, float]]  # share of own time by layer, largest first
    functions: list[tuple[str, int, float]]  # pkgline function, calls, cumulative share


def _layer(filename: str, function: str) -> str:
    if "sqlalchemy" in filename:
        return "SQLAlchemy (ORM + Core)"
    if "sqlmodel" in filename or "pydantic" in filename:
        return "SQLModel/pydantic"
    if filename == "~" and ("sqlite3" in function or "psycopg" in function):
        return "database driver"
    if "psycopg" in filename:
        return "database driver"
    if "/mes/" in filename:
        return "pkgline (mes)"
    return "other (stdlib, json, hashlib, ...)"


def profile(work: Callable[[], int], top: int = 8) -> Shares:
    """Run `work` (returning how many units it did) under cProfile and summarise it."""
    prof = cProfile.Profile()
    prof.enable()
    calls = work()
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(own for _cc, _nc, own, _cum, _callers in stats.values())
    layers: Counter[str] = Counter()
    functions = []
    for (filename, _line, function), (_cc, ncalls, own, cum, _callers) in stats.items():
        layers[_layer(filename, function)] += own
        if "/mes/" in filename and function not in _ENTRY:
            module = filename.split("/mes/")[1].removesuffix(".py").replace("/", ".")
            functions.append((f"{module}.{function}", ncalls, cum / total))
    functions.sort(key=lambda f: -f[2])
    return Shares(
        calls,
        total,
        [(name, t / total) for name, t in layers.most_common()],
        functions[:top],
    )


def describe(title: str, shares: Shares) -> str:
    per = shares.total_s / shares.calls * 1e3
    lines = [f"{title}: cProfile of {shares.calls} moves, {per:.1f} ms each under the profiler"]
    lines.append(
        "  by layer (own time): "
        + ", ".join(f"{name} {share:.0%}" for name, share in shares.layers if share >= 0.01)
    )
    lines.append("  by pkgline function (cumulative, nested ones overlap):")
    lines += [
        f"    {share:4.0%}  {name}  ({n / shares.calls:.1f} calls per move)"
        for name, n, share in shares.functions
    ]
    return "\n".join(lines)
