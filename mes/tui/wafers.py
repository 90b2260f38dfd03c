"""The wafers of one lot, their cure state (the thermal ledger) and plating, read off the loop.

The upper table lists the lot's wafers with their latest α and Tg; Enter shows the ledger of
the wafer under the cursor (every thermal step it went through) in the table below, and, for
a lot with plating records, the wafer's plating steps (charge, η, computed and measured Cu
thickness) in the bottom table, and its die map (bins of the dies placed on it) beside the
ledger. `h` holds the wafer under the cursor alone (the rest of
the lot goes on); the Hold column shows the codes of the holds in force on each wafer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from mes.domain.errors import DomainError
from mes.domain.holds import split_code
from mes.services import diemaps, holds, ledger, plating
from mes.services.ledger import WaferCure
from mes.services.lookup import hold_wafers
from mes.store.tables import CureEntry, PlatingRecord
from mes.tui.keys import after_pending_keys
from mes.tui.modals import ActionModal
from mes.tui.tables import Cell, SyncTable


def _blank(value: float | None, digits: int) -> str:
    """A number, or nothing at all: a wafer never cured has no α, Tg or time above Tg."""
    return "" if value is None else f"{value:.{digits}f}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60.0:.1f}"


class WafersTable(SyncTable):
    COLUMNS = (
        ("wafer", "Wafer"),
        ("slot", "Slot"),
        ("material", "Material"),
        ("alpha", "α"),
        ("tg", "Tg °C"),
        ("cures", "Cures"),
        ("above_tg", "Above Tg (min)"),
        ("last_step", "Last step"),
        ("hold", "Hold"),
    )

    def show(self, wafers: Sequence[WaferCure], held: dict[str, list[str]]) -> None:
        self.sync([(w.wafer_id, wafer_cells(w, held.get(w.wafer_id, []))) for w in wafers])


def wafer_cells(w: WaferCure, hold_codes: Sequence[str] = ()) -> list[Cell]:
    cured = w.cures > 0
    return [
        w.wafer_id,
        str(w.slot),
        w.material or "",
        _blank(w.alpha, 3),
        _blank(w.tg_c, 1),
        str(w.cures) if cured else "",
        _minutes(w.time_above_tg_s) if cured else "",
        w.last_step or "",
        Text(", ".join(hold_codes), style="bold red") if hold_codes else "",
    ]


class LedgerTable(SyncTable):
    COLUMNS = (
        ("n", "#"),
        ("step", "Step"),
        ("run", "Run"),
        ("material", "Material"),
        ("alpha_before", "α before"),
        ("alpha_after", "α after"),
        ("tg", "Tg after °C"),
        ("above_tg", "Above Tg (min)"),
        ("peak", "Peak °C"),
        ("gaps", "Gaps"),
    )

    def show(self, entries: Sequence[CureEntry]) -> None:
        self.sync([(str(e.id), ledger_cells(n, e)) for n, e in enumerate(entries, start=1)])


def ledger_cells(n: int, e: CureEntry) -> list[Cell]:
    return [
        str(n),
        e.step,
        str(e.run_id),
        e.material,
        f"{e.alpha_before:.3f}",
        f"{e.alpha_after:.3f}",
        f"{e.tg_after_c:.1f}",
        _minutes(e.time_above_tg_s),
        f"{e.peak_c:.1f}",
        # Samples missing from the run: the α of that step is an estimate across the gap.
        Text(str(e.gaps), style="yellow") if e.gaps else "0",
    ]


class PlatingTable(SyncTable):
    COLUMNS = (
        ("n", "#"),
        ("step", "Step"),
        ("run", "Run"),
        ("cell", "Cell"),
        ("charge", "Charge C"),
        ("eta", "η"),
        ("thickness", "Thickness µm"),
        ("measured", "Measured µm"),
        ("gaps", "Gaps"),
        ("unconfirmed", "Unconfirmed s"),
    )

    def show(self, records: Sequence[PlatingRecord]) -> None:
        self.sync([(str(r.id), plating_cells(n, r)) for n, r in enumerate(records, start=1)])


def plating_cells(n: int, r: PlatingRecord) -> list[Cell]:
    return [
        str(n),
        r.step,
        str(r.run_id),
        str(r.cell),
        f"{r.charge_c:.1f}",
        f"{r.eta:.3f}",
        f"{r.thickness_um:.2f}",
        _blank(r.measured_um, 2),  # blank until metrology is entered for the run
        # Current samples missing from the run: the charge is integrated across the gap.
        Text(str(r.gaps), style="yellow") if r.gaps else "0",
        # Tool time of holes in the current that its measured ends did not confirm: past
        # the limit (plating.unconfirmed) the wafer is named for metrology, teaches no η.
        _unconfirmed(r),
    ]


def _unconfirmed(r: PlatingRecord) -> Cell:
    if not r.unverified_s:
        return "0"
    return Text(f"{r.unverified_s:.0f}", style="red" if plating.unconfirmed(r) else "yellow")


LotView = tuple[list[WaferCure], list[PlatingRecord], dict[str, list[str]]]


def _lot_view(engine: Engine, lot_id: str) -> LotView:
    """Blocking: the lot's wafers with their cure state, its plating records, and by wafer
    the codes of the holds in force on it ('(lot)': a hold of the whole lot)."""
    held = {
        wafer_id: [h.code if hold_wafers(h) is not None else f"{h.code} (lot)" for h in hs]
        for wafer_id, hs in holds.holds_by_wafer_of(engine, lot_id).items()
    }
    return ledger.cure_states(engine, lot_id), plating.records_of(engine, lot_id), held


def _wafer_view(
    engine: Engine, lot_id: str, wafer_id: str
) -> tuple[list[CureEntry], list[PlatingRecord], diemaps.WaferMap]:
    """Blocking: one wafer's thermal ledger, plating records and die map."""
    return (
        ledger.history(engine, wafer_id),
        plating.records_of_wafer(engine, wafer_id),
        diemaps.wafer_map(engine, wafer_id),
    )


def map_text(m: diemaps.WaferMap) -> str:
    """The die map as drawn by `pkgline wafer map`, and a legend of its bins."""
    if not m.dies:
        return "no die map"
    counts = Counter(d.bin for d in m.dies)
    tested = sorted(b for b in counts if b is not None)
    parts = [f"bin {b} ×{counts[b]}" for b in tested]
    if None in counts:
        parts.append(f"untested ×{counts[None]}")
    legend = " · ".join(parts)
    return f"{m.render()}\n\n{len(m.dies)} dies: {legend}\n'.' placed, untested"


class WafersScreen(ModalScreen[None]):
    """One lot's wafers with their α and Tg; Enter shows a wafer's ledger and plating,
    `h` holds one wafer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        # priority: the table's own (hidden) enter binding would hide this one in the footer.
        Binding("enter", "ledger", "Ledger", priority=True),
        Binding("h", "hold_wafer", "Hold wafer"),
        Binding("tab", "app.focus_next", "Next table"),
        Binding("shift+tab", "app.focus_previous", "Prev table"),
    ]

    def __init__(self, engine: Engine, lot_id: str, actor: str) -> None:
        super().__init__()
        self.engine = engine
        self.lot_id = lot_id
        self.actor = actor
        self.ledger_wafer: str | None = None  # whose ledger (and plating) the tables show

    def compose(self) -> ComposeResult:
        with Vertical(id="wafer-view") as view:
            view.border_title = f"Wafers · lot {self.lot_id}"
            yield WafersTable(id="wafer-table")
            with Horizontal(id="wafer-detail"):
                yield LedgerTable(id="ledger-table")
                yield Static("", id="wafer-map", markup=False)
            yield PlatingTable(id="plating-table")
            yield Static("", id="wafer-error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LedgerTable).border_title = "Ledger · Enter on a wafer"
        self.query_one("#wafer-map", Static).border_title = "Die map"
        plated = self.query_one(PlatingTable)
        plated.border_title = "Plating · Enter on a wafer"
        plated.display = False  # shown once the lot turns out to have plating records
        self.query_one(WafersTable).focus()
        self._load_wafers()

    @property
    def error(self) -> str:
        """The refusal or read error shown in the view ('' when none)."""
        return str(self.query_one("#wafer-error", Static).content)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_hold_wafer(self) -> None:
        wafer_id = self.query_one(WafersTable).selected_key
        if wafer_id is None:
            return

        def submit(text: str) -> str:
            code, reason = split_code(text)
            hold = holds.hold(self.engine, self.actor, self.lot_id, reason, code.value, [wafer_id])
            return f"{wafer_id} on hold [{hold.code}]: {hold.reason}"

        def done(message: str | None) -> None:
            if message is not None:
                self.notify(message, markup=False)
                self._load_wafers()

        modal = ActionModal(
            "Hold wafer",
            f"Hold wafer {wafer_id} of lot {self.lot_id}; its other wafers are not held.",
            "Reason ('quality: …' needs an engineer to release)",
            submit,
            placeholder="why the wafer must stop",
        )
        self.app.push_screen(modal, done)

    def action_ledger(self) -> None:
        after_pending_keys(self, self._ledger)  # after cursor moves typed before the Enter

    def _ledger(self) -> None:
        wafer_id = self.query_one(WafersTable).selected_key
        if wafer_id is not None:
            self._load_ledger(wafer_id)

    @work(exclusive=True, group="wafers")
    async def _load_wafers(self) -> None:
        table = self.query_one(WafersTable)
        try:
            wafers, records, held = await asyncio.to_thread(_lot_view, self.engine, self.lot_id)
        except (SQLAlchemyError, DomainError) as exc:
            self._show_error(f"cannot read the wafers of {self.lot_id}: {exc}")
            return
        table.show(wafers, held)
        cured = sum(1 for w in wafers if w.cures)
        plated = len({r.wafer_id for r in records})
        table.border_title = (
            f"{len(wafers)} wafers, {cured} cured" + (f", {plated} plated" if plated else "")
            if wafers
            else f"lot {self.lot_id} has no wafers"
        )
        self.query_one(PlatingTable).display = bool(records)

    @work(exclusive=True, group="ledger")
    async def _load_ledger(self, wafer_id: str) -> None:
        table = self.query_one(LedgerTable)
        try:
            entries, records, die_map = await asyncio.to_thread(
                _wafer_view, self.engine, self.lot_id, wafer_id
            )
        except (SQLAlchemyError, DomainError) as exc:
            self._show_error(f"cannot read the ledger of {wafer_id}: {exc}")
            return
        self._show_error("")
        self.ledger_wafer = wafer_id
        table.show(entries)
        n = len(entries)
        steps = f"{n} thermal step{'s' * (n != 1)}" if entries else "never cured"
        table.border_title = f"Ledger · {wafer_id} · {steps}"
        shown_map = self.query_one("#wafer-map", Static)
        shown_map.update(map_text(die_map))
        shown_map.border_title = f"Die map · {wafer_id}"
        plated = self.query_one(PlatingTable)
        plated.show(records)
        n = len(records)
        steps = f"{n} plating step{'s' * (n != 1)}" if records else "never plated"
        plated.border_title = f"Plating · {wafer_id} · {steps}"
        if records:
            plated.display = True  # plated since the view opened

    def _show_error(self, message: str) -> None:
        error = self.query_one("#wafer-error", Static)
        error.update(message)
        error.display = bool(message)
