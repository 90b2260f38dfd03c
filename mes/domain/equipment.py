"""SEMI E10 equipment states and what each allows."""

from __future__ import annotations

import enum


class E10State(enum.StrEnum):
    PRODUCTIVE = "productive"
    STANDBY = "standby"
    ENGINEERING = "engineering"
    SCHEDULED_DOWN = "scheduled_down"
    UNSCHEDULED_DOWN = "unscheduled_down"
    NON_SCHEDULED = "non_scheduled"


# States a person may set; productive is set by runs only.
SETTABLE_STATES = tuple(s for s in E10State if s is not E10State.PRODUCTIVE)


def may_track_in(state: E10State) -> bool:
    """Track-in needs standby (DOMAIN.md)."""
    return state is E10State.STANDBY


TOOL_TYPES = ("cure_oven", "molding_press", "plating_tool")

# A molding press's cycle stages by the number its driver publishes (drivers.core.press
# CycleState; a unit test keeps the two in step): how operators read `cycle_state`.
PRESS_CYCLE_STAGES = ("idle", "clamp", "fill", "cure", "open")


def check_tool_type(tool_type: str) -> str:
    if tool_type not in TOOL_TYPES:
        from mes.domain.errors import InvalidInput

        raise InvalidInput(f"tool type {tool_type!r} is not one of: {', '.join(TOOL_TYPES)}")
    return tool_type
