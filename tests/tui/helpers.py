"""Drive LineApp in tests: settle its workers, read its tables, collect its notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from rich.text import Text
from sqlalchemy.engine import Engine
from textual.events import Key
from textual.message import Message
from textual.notifications import Notification, Notify
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from mes.services import lots
from mes.tui import LineApp

_KEY_NAMES = {" ": "space", "-": "minus", ":": "colon", ".": "full_stop", ",": "comma"}

OPERATOR = "op1"
OVEN = "OVEN-01"
PLATER = "PLATER-01"
PRESS = "PRESS-01"

# Long enough that the interval never fires in a test: each test refreshes explicitly.
NO_TICK_S = 3600.0
SIZE = (140, 44)


def to_oven_step(engine: Engine, lot_id: str) -> None:
    """Walk a lot through the manual MOLD step so it waits at PMC."""
    lots.track_in(engine, OPERATOR, lot_id, None)
    lots.track_out(engine, OPERATOR, lot_id)


async def settle(pilot: Pilot[None]) -> None:
    """Wait until no worker runs, eight polls in a row: a read may start another read
    through `call_later`, which a loaded machine may run some tens of ms later."""
    idle = 0
    for _ in range(1000):
        await pilot.pause(0.01)
        idle = idle + 1 if all(w.is_finished for w in pilot.app.workers) else 0
        if idle == 8:
            return
    raise AssertionError("workers did not settle")


async def still(pilot: Pilot[None]) -> None:
    """Settle, then stop every text cursor blinking (it stays shown), so that a snapshot
    does not depend on whether it was taken in the on or the off half of a blink."""
    await settle(pilot)
    fields = list(pilot.app.screen.query(Input))
    for field_ in fields:
        field_.cursor_blink = False
    if fields:
        await settle(pilot)


async def burst(pilot: Pilot[None], text: str) -> None:
    """Type `text` and Enter as a barcode scanner or a paste does: every key queued at
    once, none handled before the next arrives (Pilot's press waits after each key)."""
    for ch in text:
        pilot.app.post_message(Key(_KEY_NAMES.get(ch, ch), ch))
    pilot.app.post_message(Key("enter", "\r"))
    await settle(pilot)


def cells(table: DataTable[object], key: str) -> list[str]:
    """The row's cells as plain text."""
    return [c.plain if isinstance(c, Text) else str(c) for c in table.get_row(key)]


def column(table: DataTable[object], column_key: str) -> dict[str, str]:
    """Row key → plain text of one column."""
    keys = [k.value for k, _ in table.columns.items()]
    i = keys.index(column_key)
    return {str(r.key.value): cells(table, str(r.key.value))[i] for r in table.ordered_rows}


@dataclass
class Harness:
    app: LineApp
    pilot: Pilot[None]
    notes: list[Notification] = field(default_factory=list)

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await settle(self.pilot)

    async def type(self, text: str) -> None:
        await self.pilot.press(*text)
        await settle(self.pilot)

    async def burst(self, text: str) -> None:
        await burst(self.pilot, text)

    def table(self, name: str) -> DataTable[object]:
        return self.app.screen_stack[0].query_one(f"#{name}", DataTable)

    def errors(self) -> list[str]:
        return [n.message for n in self.notes if n.severity == "error"]


@asynccontextmanager
async def running(
    engine: Engine, refresh_s: float = NO_TICK_S, actor: str = OPERATOR
) -> AsyncIterator[Harness]:
    """Run LineApp as `actor` until its first read has landed."""
    notes: list[Notification] = []

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification)

    app = LineApp(engine, actor, refresh_s)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await settle(pilot)
        yield Harness(app, pilot, notes)
