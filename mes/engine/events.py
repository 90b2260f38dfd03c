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


def excursion_reason(events: list[Event], shown: int = 3) -> str:
    """The hold reason for excursions: the first few, one per check, then a count."""
    firsts: dict[str, Event] = {}
    for ev in events:
        firsts.setdefault(ev.code, ev)
    picked = list(firsts.values())[:shown]
    more = len(events) - len(picked)
    text = "; ".join(ev.message for ev in picked)
    return f"excursion: {text}" + (f" (+{more} more)" if more else "")
