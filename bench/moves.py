"""Track-in / track-out through mes.services.lots, with authorization and audit, per second.

A move is one service call, lots.track_in or lots.track_out, i.e. one business transaction
that authorizes the operator, moves the lot (checking its queue time) and appends its
audit record, committed. One step = two moves.

The lots walk a route of manual steps built the way a real one is (a repeated block, like
the RDL loop), so its length and the cost of reading it are realistic: 42 steps, 84 moves
per lot; two lots a round, the best of three rounds counts. Users, route and lots are
created before the clock starts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from mes.domain.lots import LotStatus
from mes.services import lots, routes, users
from mes.services.lookup import get_lot
from mes.services.tx import transaction

ROUNDS = 3  # the best round counts (the least disturbed by whatever else the machine does)
LOTS_PER_ROUND = 2
OPERATOR = "op1"
ROUTE = "bench-manual"
ROUTE_TOML = f"""\
name = "{ROUTE}"

[[steps]]
name = "RECEIVE"

[[steps]]
block = "RDL"
repeat = 10
steps = [{{ name = "PI_COAT" }}, {{ name = "LITHO" }}, {{ name = "DEVELOP" }}, {{ name = "AOI" }}]

[[steps]]
name = "SHIP"
"""


@dataclass(frozen=True)
class MoveRate:
    moves: int  # in the best round
    seconds: float
    rounds: int = 1

    @property
    def per_second(self) -> float:
        return self.moves / self.seconds


def seed(engine: Engine, tmp: Path) -> None:
    """An admin, an engineer who imports the route, and the operator who moves the lots."""
    users.bootstrap(engine, "admin")
    users.add(engine, "admin", "eng1", "engineer")
    users.add(engine, "admin", OPERATOR, "operator")
    path = tmp / f"{ROUTE}.toml"
    path.write_text(ROUTE_TOML, encoding="utf-8")
    routes.import_file(engine, "eng1", path)


def start_lots(engine: Engine, prefix: str, n: int) -> list[str]:
    ids = [f"{prefix}{i:03d}" for i in range(1, n + 1)]
    for lot_id in ids:
        lots.create(engine, OPERATOR, lot_id, ROUTE, wafers=25)
    return ids


def walk(engine: Engine, lot_id: str) -> Iterator[None]:
    """Move one lot to the end of the route, yielding after every move."""
    while True:
        lots.track_in(engine, OPERATOR, lot_id)
        yield
        if lots.track_out(engine, OPERATOR, lot_id).status == LotStatus.FINISHED:
            yield
            return
        yield


def move_all(engine: Engine, lot_ids: list[str]) -> int:
    moves = 0
    for lot_id in lot_ids:
        for _ in walk(engine, lot_id):
            moves += 1
    return moves


def timed_round(engine: Engine, prefix: str) -> MoveRate:
    lot_ids = start_lots(engine, prefix, LOTS_PER_ROUND)
    t0 = time.perf_counter()
    moves = move_all(engine, lot_ids)
    seconds = time.perf_counter() - t0
    with transaction(engine) as s:
        unfinished = [i for i in lot_ids if get_lot(s, i).status != LotStatus.FINISHED]
    if unfinished:
        raise RuntimeError(f"lots {unfinished} did not reach the end of {ROUTE}")
    return MoveRate(moves, seconds, ROUNDS)


def measure(engine: Engine, tmp: Path) -> MoveRate:
    seed(engine, tmp)
    move_all(engine, start_lots(engine, "WARM", 1))  # compiles and caches the statements
    rates = [timed_round(engine, f"B{r}-") for r in range(ROUNDS)]
    return max(rates, key=lambda m: m.per_second)
