"""Routes: the ordered steps a lot walks, each automated on a tool type or manual.

A route file lists steps; a step may instead be a block of steps repeated for
n layers (the RDL loop), expanded here into steps named "<block><n>.<step>".
A step may start a queue-time clock: `qtime_to` names a later step (inside a
block: of the same layer) that must start within `qtime_h` hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mes.domain.errors import InvalidInput

STEP_KEYS = {"name", "tool_type", "recipe", "qtime_to", "qtime_h"}
BLOCK_KEYS = {"block", "repeat", "steps"}
MAX_REPEAT = 10


@dataclass(frozen=True, slots=True)
class RouteStep:
    name: str
    tool_type: str | None = None  # None: a manual step, tracked in/out by an operator
    recipe: str | None = None  # recipe name run by the tool at this step
    qtime_to: str | None = None  # a later step that must start within qtime_h of this one's end
    qtime_h: float | None = None

    @property
    def automated(self) -> bool:
        return self.tool_type is not None

    def as_dict(self) -> dict[str, Any]:
        fields = (
            ("name", self.name),
            ("tool_type", self.tool_type),
            ("recipe", self.recipe),
            ("qtime_to", self.qtime_to),
            ("qtime_h", self.qtime_h),
        )
        return {k: v for k, v in fields if v is not None}


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    steps: tuple[RouteStep, ...]

    def step(self, index: int) -> RouteStep:
        return self.steps[index]

    def index_of(self, step_name: str) -> int:
        for i, s in enumerate(self.steps):
            if s.name == step_name:
                return i
        names = ", ".join(s.name for s in self.steps)
        raise InvalidInput(f"step {step_name!r} is not on route {self.name} ({names})")

    def is_last(self, index: int) -> bool:
        return index >= len(self.steps) - 1


def parse_route(name: str, raw_steps: list[dict[str, Any]]) -> Route:
    """Build a route from plain data (a TOML file or a stored JSON), with clear errors."""
    if not raw_steps:
        raise InvalidInput(f"route {name}: steps must not be empty")
    steps: list[RouteStep] = []
    for i, raw in enumerate(raw_steps):
        where = f"route {name}: steps[{i}]"
        if not isinstance(raw, dict):
            raise InvalidInput(f"{where}: must be a table")
        if "block" in raw:
            steps += _block(where, raw)
        else:
            steps.append(_step(where, raw))
    seen: set[str] = set()
    for st in steps:
        if st.name in seen:
            raise InvalidInput(f"route {name}: step name {st.name!r} is repeated")
        seen.add(st.name)
    for i, st in enumerate(steps):
        if st.qtime_to is not None:
            later = [s.name for s in steps[i + 1 :]]
            if st.qtime_to not in later:
                raise InvalidInput(
                    f"route {name}: step {st.name}: qtime_to {st.qtime_to!r} is not a later step"
                )
    return Route(name, tuple(steps))


def _block(where: str, raw: dict[str, Any]) -> list[RouteStep]:
    unknown = set(raw) - BLOCK_KEYS
    if unknown:
        raise InvalidInput(f"{where}: unknown key {sorted(unknown)[0]!r} in a block")
    block, repeat, inner = raw.get("block"), raw.get("repeat"), raw.get("steps")
    if not isinstance(block, str) or not block:
        raise InvalidInput(f"{where}.block: must be a name")
    if not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= MAX_REPEAT:
        raise InvalidInput(f"{where}.repeat = {repeat!r}: must be an integer 1..{MAX_REPEAT}")
    if not isinstance(inner, list) or not inner:
        raise InvalidInput(f"{where}.steps: must be a non-empty array of steps")
    out = []
    for n in range(1, repeat + 1):
        for j, item in enumerate(inner):
            if not isinstance(item, dict):
                raise InvalidInput(f"{where}.steps[{j}]: must be a table")
            st = _step(f"{where}.steps[{j}]", item)
            prefix = f"{block}{n}."
            out.append(
                RouteStep(
                    prefix + st.name,
                    st.tool_type,
                    st.recipe,
                    prefix + st.qtime_to if st.qtime_to else None,
                    st.qtime_h,
                )
            )
    return out


def _step(where: str, raw: dict[str, Any]) -> RouteStep:
    unknown = set(raw) - STEP_KEYS
    if unknown:
        raise InvalidInput(f"{where}: unknown key {sorted(unknown)[0]!r}")
    step_name = raw.get("name")
    if not isinstance(step_name, str) or not step_name:
        raise InvalidInput(f"{where}.name: missing or not a string")
    tool_type, recipe = raw.get("tool_type"), raw.get("recipe")
    if (tool_type is None) != (recipe is None):
        raise InvalidInput(f"{where} ({step_name}): tool_type and recipe go together")
    for key in ("tool_type", "recipe", "qtime_to"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise InvalidInput(f"{where}.{key}: must be a string")
    qtime_to, qtime_h = raw.get("qtime_to"), raw.get("qtime_h")
    if (qtime_to is None) != (qtime_h is None):
        raise InvalidInput(f"{where} ({step_name}): qtime_to and qtime_h go together")
    if qtime_h is not None and (
        isinstance(qtime_h, bool) or not isinstance(qtime_h, int | float) or not 0 < qtime_h <= 720
    ):
        raise InvalidInput(f"{where}.qtime_h = {qtime_h!r}: must be a number of hours in (0, 720]")
    return RouteStep(
        step_name, tool_type, recipe, qtime_to, float(qtime_h) if qtime_h is not None else None
    )
