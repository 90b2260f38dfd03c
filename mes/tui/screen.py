"""The main screen: tools, lots, trend and alarms, refreshed off the event loop."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header
from textual.worker import Worker

from mes.domain.errors import DomainError
from mes.domain.holds import split_code
from mes.services import genealogy, plating
from mes.services import lots as lot_tx
from mes.services import tools as tool_tx
from mes.services.reads import LotRow, ToolRow
from mes.tui.data import Snapshot, load_snapshot
from mes.tui.genealogy import (
    MERGE_EXAMPLE,
    SPLIT_EXAMPLE,
    GenealogyScreen,
    parse_merge,
    parse_split,
)
from mes.tui.metrology import EXAMPLE, metrology_detail, metrology_message, parse_thickness
from mes.tui.modals import ActionModal
from mes.tui.tables import AlarmsTable, LotsTable, ToolsTable
from mes.tui.tool_state import EXAMPLE as STATE_EXAMPLE
from mes.tui.tool_state import SETTABLE, parse_state, state_detail
from mes.tui.trend import TrendPlot
from mes.tui.wafers import WafersScreen


class MainScreen(Screen[None]):
    """Where an operator watches the line and moves lots."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "track_in", "Track in"),
        Binding("o", "track_out", "Track out"),
        Binding("h", "hold", "Hold"),
        Binding("r", "release", "Release"),
        Binding("m", "metrology", "Metrology"),
        Binding("w", "wafers", "Wafers"),
        Binding("s", "split", "Split"),
        Binding("j", "merge", "Merge"),
        Binding("g", "genealogy", "Genealogy"),
        Binding("e", "tool_state", "Tool state"),
        Binding("tab", "app.focus_next", "Next table", show=False),
        Binding("shift+tab", "app.focus_previous", "Prev table", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, engine: Engine, actor: str, refresh_s: float) -> None:
        super().__init__()
        self.engine = engine
        self.actor = actor
        self.refresh_s = refresh_s
        self.snapshot: Snapshot | None = None
        self._loading: Worker[None] | None = None
        self._db_error: str | None = None
        self._moving: Worker[None] | None = None
        self._warned_actor = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield ToolsTable(id="tools")
        with Horizontal(id="middle"):
            yield LotsTable(id="lots")
            yield TrendPlot(id="trend")
        yield AlarmsTable(id="alarms")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tools").border_title = "Tools"
        self.query_one("#lots").border_title = "Lots"
        self.query_one("#alarms").border_title = "Alarms (latest first)"
        self.query_one(TrendPlot).show(None)
        self.refresh_now()
        self.set_interval(self.refresh_s, self._tick)

    # -- refresh --------------------------------------------------------------------------

    def _tick(self) -> None:
        # A slow database must not pile up reads: skip the tick while one is in flight.
        if self._loading is None or self._loading.is_finished:
            self.refresh_now()

    def refresh_now(self) -> None:
        """Read everything again (cancels a read in flight: the newer one wins)."""
        self._loading = self._load(self.query_one(ToolsTable).selected_key)

    @work(exclusive=True, group="refresh")
    async def _load(self, trend_tool: str | None) -> None:
        try:
            snap = await asyncio.to_thread(load_snapshot, self.engine, self.actor, trend_tool)
        except (SQLAlchemyError, DomainError) as exc:
            message = f"cannot read the database: {exc}"
            if message != self._db_error:  # say it once, not every second
                self._db_error = message
                self.notify(message, severity="error", markup=False, timeout=10)
            return
        self._db_error = None
        if not self.is_attached:  # the app closed while the read ran: nothing to show it on
            return
        self._apply(snap)

    def _apply(self, snap: Snapshot) -> None:
        self.snapshot = snap
        if not snap.actor_known and not self._warned_actor:
            self._warned_actor = True
            self.notify(
                f"user {self.actor!r} does not exist: every action will be refused",
                severity="error",
                markup=False,
                timeout=30,
            )
        tools = self.query_one(ToolsTable)
        tools.show(snap.tools)
        self.query_one(LotsTable).show(snap.lots)
        self.query_one(AlarmsTable).show(snap.alarms)
        self.query_one(TrendPlot).show(snap.trend)
        self._follow_tool(tools.selected_key)

    @on(DataTable.RowHighlighted, "#tools")
    def _tool_highlighted(self) -> None:
        self._follow_tool(self.query_one(ToolsTable).selected_key)

    def _follow_tool(self, tool_id: str | None) -> None:
        """Re-read when the trend shows another tool than the one under the cursor."""
        if self.snapshot is None:
            return
        shown = self.snapshot.trend.tool_id if self.snapshot.trend else None
        if tool_id != shown:
            self.call_later(self.refresh_now)

    # -- lot transactions -------------------------------------------------------------------

    def _selected_lot(self) -> LotRow | None:
        key = self.query_one(LotsTable).selected_key
        lot = next((x for x in self.snapshot.lots if x.id == key), None) if self.snapshot else None
        if lot is None:
            self.notify("No lot selected", severity="warning")
        return lot

    def _selected_tool(self) -> ToolRow | None:
        key = self.query_one(ToolsTable).selected_key
        tools = self.snapshot.tools if self.snapshot else []
        tool = next((t for t in tools if t.id == key), None)
        if tool is None:
            self.notify("No tool selected", severity="warning")
        return tool

    def _ask(self, modal: ActionModal) -> None:
        def done(message: str | None) -> None:
            if message is not None:
                self.notify(message, markup=False)
                self.refresh_now()

        self.app.push_screen(modal, done)

    def action_track_in(self) -> None:
        lot = self._selected_lot()
        if lot is None or self.snapshot is None:
            return
        tool_type = self.snapshot.step_tool_type.get(lot.id)
        where = (
            f"Lot {lot.id} ({lot.wafers} wafers) at {lot.step} ({lot.step_index + 1}/{lot.steps})"
        )

        def submit(tool: str) -> str:
            result = lot_tx.track_in(self.engine, self.actor, lot.id, tool.strip() or None)
            if result.run_id is None:
                return f"{lot.id} tracked in at {result.step} (manual step)"
            return f"{lot.id} tracked in at {result.step} on {result.tool_id}: run {result.run_id}"

        if tool_type is None:
            self._ask(
                ActionModal(
                    "Track in",
                    f"{where}: a manual step, no tool.",
                    "Tool (leave empty)",
                    submit,
                )
            )
            return
        candidates = [t for t in self.snapshot.tools if t.type == tool_type]
        selected = self.query_one(ToolsTable).selected_key
        prefill = selected if any(t.id == selected for t in candidates) else ""
        idle = ", ".join(t.id for t in candidates if t.run_id is None) or "none"
        self._ask(
            ActionModal(
                "Track in",
                f"{where}: runs on a {tool_type}. Idle {tool_type} tools: {idle}.",
                "Tool",
                submit,
                value=prefill or "",
                placeholder=f"a {tool_type} id",
                suggestions=[t.id for t in candidates],
            )
        )

    def action_hold(self) -> None:
        lot = self._selected_lot()
        if lot is None:
            return

        def submit(text: str) -> str:
            code, reason = split_code(text)
            hold = lot_tx.hold(self.engine, self.actor, lot.id, reason, code.value)
            return f"{lot.id} on hold [{hold.code}]: {hold.reason}"

        held = f" It is already on hold: {lot.hold_reason}." if lot.on_hold else ""
        self._ask(
            ActionModal(
                "Hold lot",
                f"Hold lot {lot.id} at {lot.step} ({lot.status}).{held}",
                "Reason ('quality: …' needs an engineer to release)",
                submit,
                placeholder="why the lot must stop",
            )
        )

    def action_release(self) -> None:
        lot = self._selected_lot()
        if lot is None:
            return
        if not lot.on_hold:
            self.notify(f"{lot.id} is not on hold", severity="warning")
            return

        def submit(reason: str) -> str:
            lot_tx.release(self.engine, self.actor, lot.id, reason)
            return f"{lot.id} released"

        self._ask(
            ActionModal(
                "Release lot",
                f"Release lot {lot.id}, on hold: {lot.hold_reason}",
                "Reason",
                submit,
                placeholder="the disposition",
            )
        )

    def action_track_out(self) -> None:
        if self._moving is not None and not self._moving.is_finished:
            return  # one track-out at a time: a repeated key must not move the lot twice
        lot = self._selected_lot()
        if lot is not None:
            self._moving = self._track_out(lot)

    @work(exclusive=True, group="track-out")
    async def _track_out(self, lot: LotRow) -> None:
        try:
            await asyncio.to_thread(lot_tx.track_out, self.engine, self.actor, lot.id)
        except DomainError as exc:
            self.notify(str(exc), title="Track out refused", severity="error", markup=False)
            return
        self.notify(f"{lot.id} tracked out of {lot.step}", markup=False)
        self.refresh_now()

    def action_metrology(self) -> None:
        """Enter the measured Cu thickness of the lot's last plating run."""
        lot = self._selected_lot()
        if lot is not None:
            self._metrology(lot)

    @work(exclusive=True, group="metrology")
    async def _metrology(self, lot: LotRow) -> None:
        try:
            records = await asyncio.to_thread(plating.records_of, self.engine, lot.id)
        except (SQLAlchemyError, DomainError) as exc:
            message = f"cannot read the plating records of {lot.id}: {exc}"
            self.notify(message, severity="error", markup=False)
            return
        if not records:
            message = f"{lot.id} has no plating record to measure"
            self.notify(message, severity="warning", markup=False)
            return

        def submit(text: str) -> str:
            thickness = parse_thickness(text)
            result = plating.record_metrology(self.engine, self.actor, lot.id, thickness)
            return metrology_message(lot.id, result)

        self._ask(
            ActionModal(
                "Metrology",
                metrology_detail(lot, records),
                "Measured Cu thickness (µm)",
                submit,
                placeholder=EXAMPLE,
            )
        )

    def action_split(self) -> None:
        lot = self._selected_lot()
        if lot is None:
            return

        def submit(text: str) -> str:
            wafers, reason = parse_split(text)
            child = genealogy.split(self.engine, self.actor, lot.id, wafers, reason)
            return f"{lot.id} split: {child.wafers} wafer(s) now in lot {child.id}"

        self._ask(
            ActionModal(
                "Split lot",
                f"Move some wafers of lot {lot.id} ({lot.wafers} wafers, {lot.step}) into a "
                "new lot at the same step; its holds on them go with them.",
                "Wafers: reason",
                submit,
                placeholder=SPLIT_EXAMPLE,
            )
        )

    def action_merge(self) -> None:
        lot = self._selected_lot()
        if lot is None:
            return

        def submit(text: str) -> str:
            source, reason = parse_merge(text)
            merged = genealogy.merge(self.engine, self.actor, lot.id, source, reason)
            return f"lot {source} merged into {merged.id} ({merged.wafers} wafers)"

        others = [x.id for x in self.snapshot.lots if x.id != lot.id] if self.snapshot else []
        self._ask(
            ActionModal(
                "Merge lots",
                f"Bring every wafer of another lot back into lot {lot.id} ({lot.step}): same "
                "route and step, neither on hold.",
                "Lot: reason",
                submit,
                placeholder=MERGE_EXAMPLE,
                suggestions=[f"{x}: " for x in others],
            )
        )

    def action_tool_state(self) -> None:
        """Set the E10 state of the tool under the Tools cursor (e.g. back to standby)."""
        tool = self._selected_tool()
        if tool is None:
            return

        def submit(text: str) -> str:
            state, reason = parse_state(text)
            changed = tool_tx.set_state(self.engine, self.actor, tool.id, state, reason)
            return f"{tool.id} is {changed.e10_state}"

        self._ask(
            ActionModal(
                "Tool state",
                state_detail(tool),
                "State: reason",
                submit,
                placeholder=STATE_EXAMPLE,
                suggestions=[f"{s}: " for s in SETTABLE],
            )
        )

    # -- views ------------------------------------------------------------------------------

    def action_genealogy(self) -> None:
        """Splits and merges before and after the lot under the cursor."""
        lot = self._selected_lot()
        if lot is not None:
            self.app.push_screen(GenealogyScreen(self.engine, lot.id))

    def action_wafers(self) -> None:
        """The wafers of the lot under the cursor, with their cure state."""
        lot = self._selected_lot()
        if lot is not None:
            self.app.push_screen(WafersScreen(self.engine, lot.id, self.actor))
