"""The simulators' clock: sim time runs `speed` times faster than the wall.

At `speed=600` a 4-hour post-mold cure (DOMAIN.md, "Cure oven") takes 24 s of
wall time, which is how the demo and the system tests run real recipes.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from simulators.errors import SimConfigError


class SimClock:
    """Seconds of simulated time since the clock was made, `speed` × wall time."""

    def __init__(self, speed: float = 1.0, *, wall: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise SimConfigError(f"speed must be a finite number > 0, got {speed}")
        self._speed = speed
        self._wall = wall
        self._t0 = wall()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        """Sim seconds elapsed since the clock was made."""
        return (self._wall() - self._t0) * self._speed

    async def sleep(self, sim_seconds: float) -> None:
        """Wait `sim_seconds` of sim time (sim_seconds / speed of wall time)."""
        await asyncio.sleep(max(0.0, sim_seconds) / self._speed)
