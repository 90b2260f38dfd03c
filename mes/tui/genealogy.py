"""Split, merge and genealogy from the TUI: how the one-field dialogs read what is typed,
and the view of the splits and merges before and after a lot.

A split is typed as the wafers (slots or ids, comma-separated), a colon, and the reason:
`3, 4: edge chip at the notch`. A merge names the lot to bring back into the selected
one, a colon, and the reason: `L001.1: re-inspected, within spec`. The services check
the rest (a waiting lot, same route and step, no holds) and name what is wrong.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from mes.domain.errors import DomainError, InvalidInput
from mes.services import genealogy
from mes.services.lookup import link_wafers
from mes.store.tables import LotLink
from mes.tui.modals import before_colon
from mes.tui.tables import Cell, SyncTable

SPLIT_EXAMPLE = "3, 4: edge chip at the notch"
MERGE_EXAMPLE = "L001.1: re-inspected, within spec"


def parse_split(text: str) -> tuple[list[str], str]:
    """('3, 4: edge chip') → (['3', '4'], 'edge chip')."""
    head, reason = before_colon(text, "the wafers (slots or ids)", SPLIT_EXAMPLE)
    wafers = [w.strip() for w in head.split(",")]
    if any(not w for w in wafers):
        raise InvalidInput(f"wafers {head!r}: an empty name between commas ('{SPLIT_EXAMPLE}')")
    return wafers, reason


def parse_merge(text: str) -> tuple[str, str]:
    """('L001.1: within spec') → ('L001.1', 'within spec')."""
    return before_colon(text, "the lot to merge in", MERGE_EXAMPLE)


class GenealogyTable(SyncTable):
    COLUMNS = (
        ("when", "When (UTC)"),
        ("kind", "Kind"),
        ("lots", "Lots"),
        ("step", "Step"),
        ("wafers", "Wafers"),
        ("reason", "Reason"),
    )

    def show(self, tree: genealogy.LotTree) -> None:
        self.sync([(str(link.id), link_cells(link)) for link in tree.links])


def link_cells(link: LotLink) -> list[Cell]:
    return [
        f"{link.at:%m-%d %H:%M}",
        link.kind,
        f"{link.from_lot} → {link.to_lot}",
        link.step,
        ", ".join(link_wafers(link)),
        link.reason,
    ]


class GenealogyScreen(ModalScreen[None]):
    """Every split and merge that led to a lot, and every one after it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, engine: Engine, lot_id: str) -> None:
        super().__init__()
        self.engine = engine
        self.lot_id = lot_id

    def compose(self) -> ComposeResult:
        with Vertical(id="genealogy-view") as view:
            view.border_title = f"Genealogy · lot {self.lot_id}"
            yield GenealogyTable(id="genealogy-table")
            yield Static("", id="genealogy-note", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(GenealogyTable).focus()
        self._load()

    def action_close(self) -> None:
        self.dismiss(None)

    @property
    def note(self) -> str:
        return str(self.query_one("#genealogy-note", Static).content)

    @work(exclusive=True, group="genealogy")
    async def _load(self) -> None:
        note = self.query_one("#genealogy-note", Static)
        try:
            tree = await asyncio.to_thread(genealogy.lot_tree, self.engine, self.lot_id)
        except (SQLAlchemyError, DomainError) as exc:
            note.update(f"cannot read the genealogy of {self.lot_id}: {exc}")
            return
        self.query_one(GenealogyTable).show(tree)
        if not tree.ancestors and not tree.descendants:
            note.update(f"lot {self.lot_id} was never split or merged")
