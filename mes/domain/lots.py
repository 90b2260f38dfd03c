"""Lot states and the rules for moving a lot along its route."""

from __future__ import annotations

import enum
import re

from mes.domain.errors import InvalidInput, InvalidState

LOT_ID = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
MAX_WAFERS = 25  # a FOUP / carrier holds 25 wafers


class LotStatus(enum.StrEnum):
    WAITING = "waiting"  # queued at its current step
    RUNNING = "running"  # tracked in at a tool (or a manual step)
    FINISHED = "finished"  # past the last step of its route
    MERGED = "merged"  # its wafers went into another lot (see LotLink)
    SCRAPPED = "scrapped"  # every wafer scrapped


def check_lot_id(lot_id: str) -> str:
    if not LOT_ID.match(lot_id):
        raise InvalidInput(
            f"lot id {lot_id!r}: 1-32 characters of A-Z, 0-9, '_', '.', '-', starting alphanumeric"
        )
    return lot_id


def check_wafers(wafers: int) -> int:
    if not 1 <= wafers <= MAX_WAFERS:
        raise InvalidInput(f"wafers = {wafers}: must be between 1 and {MAX_WAFERS}")
    return wafers


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason: must not be empty")
    if len(reason) > 500:
        raise InvalidInput("reason: at most 500 characters")
    return reason


def require_can_track_in(lot_id: str, status: LotStatus, held: bool) -> None:
    if held:
        raise InvalidState(f"lot {lot_id} is on hold; release it first")
    if status is not LotStatus.WAITING:
        raise InvalidState(f"lot {lot_id} is {status.value}; only a waiting lot can be tracked in")


def require_can_track_out(
    lot_id: str, status: LotStatus, held: bool, step: str, automated: bool
) -> None:
    if status is not LotStatus.RUNNING:
        raise InvalidState(f"lot {lot_id} is {status.value}; only a running lot can be tracked out")
    if automated:
        raise InvalidState(
            f"step {step} is run by the tool; the engine tracks the lot out when it ends"
        )
    if held:
        raise InvalidState(f"lot {lot_id} is on hold; release it before tracking it out")
