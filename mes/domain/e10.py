"""SEMI E10 time accounting: seconds per state over a period, and the standard ratios.

Total time = non-scheduled + operations time; operations time = uptime + downtime
(scheduled + unscheduled); uptime = productive + standby + engineering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mes.domain.equipment import E10State
from mes.domain.errors import InvalidInput


@dataclass(frozen=True)
class Change:
    state: E10State
    since: datetime


@dataclass(frozen=True)
class Accounting:
    seconds: dict[E10State, float]
    unknown_s: float  # before the tool's first recorded state

    @property
    def total_s(self) -> float:
        return sum(self.seconds.values())

    @property
    def operations_s(self) -> float:
        return self.total_s - self.seconds[E10State.NON_SCHEDULED]

    @property
    def uptime_s(self) -> float:
        s = self.seconds
        return s[E10State.PRODUCTIVE] + s[E10State.STANDBY] + s[E10State.ENGINEERING]

    @property
    def downtime_s(self) -> float:
        return self.seconds[E10State.SCHEDULED_DOWN] + self.seconds[E10State.UNSCHEDULED_DOWN]

    def ratio(self, part: float, whole: float) -> float | None:
        return part / whole if whole > 0 else None

    @property
    def availability(self) -> float | None:
        """Equipment uptime %: uptime over operations time. pkgline records no downtime
        that is not the equipment's (facilities, missing material), so this is also E10's
        equipment-dependent uptime."""
        return self.ratio(self.uptime_s, self.operations_s)

    @property
    def operational_utilization(self) -> float | None:
        """Productive time over operations time."""
        return self.ratio(self.seconds[E10State.PRODUCTIVE], self.operations_s)

    @property
    def total_utilization(self) -> float | None:
        """Productive time over total time."""
        return self.ratio(self.seconds[E10State.PRODUCTIVE], self.total_s)


def account(changes: Sequence[Change], start: datetime, end: datetime) -> Accounting:
    """Seconds in each state within [start, end) from the ordered list of state changes.

    The state in force at `start` is the last change at or before it; time before the
    first change is unknown (not counted in any state).
    """
    if end <= start:
        raise InvalidInput(f"period: the end {end:%Y-%m-%d %H:%M} is not after the start")
    seconds = dict.fromkeys(E10State, 0.0)
    ordered = sorted(changes, key=lambda c: c.since)
    unknown = 0.0
    first = ordered[0].since if ordered else end
    if first > start:
        unknown = (min(first, end) - start).total_seconds()
    for i, change in enumerate(ordered):
        begin = max(change.since, start)
        stop = min(ordered[i + 1].since if i + 1 < len(ordered) else end, end)
        if stop > begin:
            seconds[change.state] += (stop - begin).total_seconds()
    return Accounting(seconds, unknown)
