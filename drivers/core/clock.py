"""Clocks: everything that waits or timestamps takes one, so runs can be scaled."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Time source for drivers, engine and daemon."""

    @property
    def speed(self) -> float:
        """How many of this clock's seconds pass per wall-clock second."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic axis, scaled when the clock is scaled."""
        ...

    def now(self) -> datetime:
        """Wall-clock time in UTC (for records)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for `seconds` on this clock's axis."""
        ...


class MonotonicClock:
    """Real time."""

    speed = 1.0

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """Time running `speed` times faster than the wall: sleep(600) takes 1 s at speed 600."""

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._t0 = time.monotonic()

    def monotonic(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)
