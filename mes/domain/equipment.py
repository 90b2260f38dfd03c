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


def may_track_in(state: E10State) -> bool:
    """Track-in needs standby (DOMAIN.md)."""
    return state is E10State.STANDBY
