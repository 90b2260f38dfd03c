"""Setting a tool's E10 state from the TUI: what the dialog says and how it reads the line.

Typed as the state, a colon, and the reason: `standby: heater replaced, checked`. The
service (`tools.set_state`) checks the role, refuses productive (runs set it) and a tool
with a run in progress, and audits the change.
"""

from __future__ import annotations

from mes.domain.equipment import SETTABLE_STATES
from mes.services.reads import ToolRow
from mes.tui.modals import before_colon

EXAMPLE = "standby: heater replaced, checked"
SETTABLE = tuple(s.value for s in SETTABLE_STATES)


def parse_state(text: str) -> tuple[str, str]:
    """('standby: checked') → ('standby', 'checked'); the service checks both."""
    return before_colon(text, "the state", EXAMPLE)


def state_detail(tool: ToolRow) -> str:
    run = f", run {tool.run_id} in progress" if tool.run_id is not None else ""
    return f"Tool {tool.id} ({tool.type}) is {tool.e10_state}{run}. States: {', '.join(SETTABLE)}."
