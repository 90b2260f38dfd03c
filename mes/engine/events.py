"""What the engine reports while it supervises: events, and program time in words."""

from __future__ import annotations

from dataclasses import dataclass


def fmt_t(seconds: float) -> str:
    """Program time as 2h13m05s (t=7985 s)."""
    s = round(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s (t={s} s)"


@dataclass(frozen=True)
class Event:
    kind: str  # "excursion" (our enforcement) or "tool" (the tool's own alarm)
    code: str
    message: str
    t_program: float
