"""Route transactions: import a route file (TOML)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from sqlalchemy.engine import Engine

from mes.domain.errors import InvalidInput, InvalidState
from mes.domain.roles import Permission
from mes.domain.routes import Route, parse_route
from mes.services import audit
from mes.services.auth import authorize
from mes.services.tx import transaction
from mes.store.tables import Route as RouteRow


def read_route_file(path: Path) -> Route:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"name", "steps"}
    if unknown:
        raise InvalidInput(f"{path}: unknown key {sorted(unknown)[0]!r}")
    name = data.get("name")
    steps = data.get("steps")
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{path}: name: missing or not a string")
    if not isinstance(steps, list):
        raise InvalidInput(f"{path}: steps: missing or not an array of tables")
    try:
        return parse_route(name, steps)
    except InvalidInput as exc:
        raise InvalidInput(f"{path}: {exc}") from None


def import_file(engine: Engine, actor: str, path: Path) -> Route:
    route = read_route_file(path)
    steps = [st.as_dict() for st in route.steps]
    body = json.dumps(steps)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.ROUTE_IMPORT)
        row = s.get(RouteRow, route.name)
        if row is not None:
            if row.steps_json != body:
                raise InvalidState(f"{path}: route {route.name} already exists with other steps")
            return route
        s.add(RouteRow(name=route.name, steps_json=body))
        audit.record(s, actor, "route.import", "route", route.name, after={"steps": steps})
    return route
