"""Hold reason codes, and the permission each one needs for its release."""

from __future__ import annotations

import enum

from mes.domain.errors import InvalidInput
from mes.domain.roles import Permission


class HoldCode(enum.StrEnum):
    OPERATOR = "operator"  # an operator stopped the lot to look at something
    ENGINEERING = "engineering"  # an engineer's disposition is needed
    QUALITY = "quality"  # a result out of spec: α below target, thickness off
    QTIME = "qtime"  # a queue-time limit ran out
    EQUIPMENT = "equipment"  # the tool failed under the lot (run aborted)


RELEASE_PERMISSION: dict[HoldCode, Permission] = {
    HoldCode.OPERATOR: Permission.LOT_RELEASE,
    HoldCode.ENGINEERING: Permission.LOT_RELEASE_ENGINEERING,
    HoldCode.QUALITY: Permission.LOT_RELEASE_ENGINEERING,
    HoldCode.QTIME: Permission.LOT_RELEASE_ENGINEERING,
    HoldCode.EQUIPMENT: Permission.LOT_RELEASE_ENGINEERING,
}


def parse_code(text: str) -> HoldCode:
    try:
        return HoldCode(text.strip().lower())
    except ValueError:
        valid = ", ".join(c.value for c in HoldCode)
        raise InvalidInput(f"hold code {text!r} is not one of: {valid}") from None


def release_permission(code: str) -> Permission:
    """The permission a release of a hold with `code` needs (unknown codes: engineering)."""
    try:
        return RELEASE_PERMISSION[HoldCode(code)]
    except ValueError:
        return Permission.LOT_RELEASE_ENGINEERING


def split_code(text: str, default: HoldCode = HoldCode.OPERATOR) -> tuple[HoldCode, str]:
    """'quality: voids at X-ray' → (quality, 'voids at X-ray'); no known code → the default.

    How a one-line form (the TUI's hold dialog) names a code without another field.
    """
    head, sep, rest = text.partition(":")
    if sep:
        try:
            return HoldCode(head.strip().lower()), rest.strip()
        except ValueError:
            pass
    return default, text.strip()
