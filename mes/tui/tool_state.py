"""Setting a tool's E10 state from the TUI: what the dialog says and how it reads the line.

Typed as the state, a colon, and the reason: `standby: heater replaced, checked`. The
service (`tools.set_state`) checks the role, refuses productive (runs set it) and a tool
with a run in progress, and audits the change.
"""

from __future__ import annotations

from mes.domain.equipment import E10State
from mes.domain.errors import InvalidInput
from mes.services.reads import ToolRow

EXAMPLE = "standby: heater replaced, checked"
SETTABLE = tuple(s.value for s in E10State if s is not E10State.PRODUCTIVE)


def parse_state(text: str) -> tuple[str, str]:
    """('standby: checked') → ('standby', 'checked'); the service checks both."""
    state, colon, reason = text.partition(":")
    if not colon or not state.strip():
        raise InvalidInput(f"write the state, a colon, then the reason: '{EXAMPLE}'")
    return state.strip(), reason.strip()


def state_detail(tool: ToolRow) -> str:
    run = f", run {tool.run_id} in progress" if tool.run_id is not None else ""
    return f"Tool {tool.id} ({tool.type}) is {tool.e10_state}{run}. States: {', '.join(SETTABLE)}."
