"""Routes: the ordered steps a lot walks, each automated on a tool type or manual."""

from __future__ import annotations

from dataclasses import dataclass

from mes.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class RouteStep:
    name: str
    tool_type: str | None = None  # None: a manual step, tracked in/out by an operator
    recipe: str | None = None  # recipe name run by the tool at this step

    @property
    def automated(self) -> bool:
        return self.tool_type is not None


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


def parse_route(name: str, raw_steps: list[dict[str, object]]) -> Route:
    """Build a route from plain data (a TOML file or a stored JSON), with clear errors."""
    if not raw_steps:
        raise InvalidInput(f"route {name}: steps must not be empty")
    steps = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_steps):
        unknown = set(raw) - {"name", "tool_type", "recipe"}
        if unknown:
            raise InvalidInput(f"route {name}: steps[{i}]: unknown key {sorted(unknown)[0]!r}")
        step_name = raw.get("name")
        if not isinstance(step_name, str) or not step_name:
            raise InvalidInput(f"route {name}: steps[{i}].name: missing or not a string")
        if step_name in seen:
            raise InvalidInput(f"route {name}: steps[{i}].name {step_name!r} is repeated")
        seen.add(step_name)
        tool_type = raw.get("tool_type")
        recipe = raw.get("recipe")
        if (tool_type is None) != (recipe is None):
            raise InvalidInput(
                f"route {name}: steps[{i}] ({step_name}): tool_type and recipe go together"
            )
        if tool_type is not None and not isinstance(tool_type, str):
            raise InvalidInput(f"route {name}: steps[{i}].tool_type: must be a string")
        if recipe is not None and not isinstance(recipe, str):
            raise InvalidInput(f"route {name}: steps[{i}].recipe: must be a string")
        steps.append(RouteStep(step_name, tool_type, recipe))
    return Route(name, tuple(steps))
