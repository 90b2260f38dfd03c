"""One modal for every lot transaction: a single field, Enter confirms, Escape cancels.

The modal calls the service itself (off the event loop) so a refused action keeps the
dialog open with the service's message, and the operator can correct the field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Label, Static

from mes.domain.errors import DomainError, InvalidInput
from mes.tui.keys import after_pending_keys

# Runs the transaction with the field's text; returns the message to show on success.
Submit = Callable[[str], str]


def before_colon(text: str, what: str, example: str) -> tuple[str, str]:
    """One field that carries two: 'what: reason' → ('what', 'reason'); InvalidInput (shown
    in the dialog) without a colon or a `what`. An empty reason is the service's to refuse."""
    head, colon, reason = text.partition(":")
    if not colon or not head.strip():
        raise InvalidInput(f"write {what}, a colon, then the reason: '{example}'")
    return head.strip(), reason.strip()


class ActionModal(ModalScreen[str | None]):
    """Ask for one value, run `submit` with it, dismiss with its message (None: cancelled)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # priority: the Input's own (hidden) enter binding would hide this one in the footer
        # (so the value is read after the keys typed before it: mes.tui.keys).
        Binding("enter", "confirm", "Confirm", priority=True),
    ]

    def __init__(
        self,
        title: str,
        detail: str,
        field_label: str,
        submit: Submit,
        *,
        value: str = "",
        placeholder: str = "",
        suggestions: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self._title = title
        self._detail = detail
        self._field_label = field_label
        self._submit = submit
        self._value = value
        self._placeholder = placeholder
        self._suggestions = list(suggestions)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self._title
            yield Static(self._detail, id="detail", markup=False)
            yield Label(self._field_label)
            yield Input(
                value=self._value,
                placeholder=self._placeholder,
                suggester=SuggestFromList(self._suggestions, case_sensitive=False)
                if self._suggestions
                else None,
                id="field",
            )
            yield Static("", id="error", markup=False)
        yield Footer()

    @property
    def error(self) -> str:
        """The refusal shown in the dialog ('' when none)."""
        return str(self.query_one("#error", Static).content)

    def action_confirm(self) -> None:
        after_pending_keys(self, self._confirm)

    def _confirm(self) -> None:
        # One transaction at a time: a second Enter must not run the action twice.
        if not self.query_one(Input).disabled:
            self._run(self.query_one(Input).value)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="submit")
    async def _run(self, value: str) -> None:
        field = self.query_one(Input)
        field.disabled = True
        try:
            message = await asyncio.to_thread(self._submit, value)
        except DomainError as exc:
            self._show_error(str(exc))
            field.disabled = False
            field.focus()
            return
        self.dismiss(message)

    def _show_error(self, message: str) -> None:
        error = self.query_one("#error", Static)
        error.update(message)
        error.display = True
