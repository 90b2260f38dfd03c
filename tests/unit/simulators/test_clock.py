"""The simulators' scaled clock."""

from __future__ import annotations

import math

import pytest

from simulators.clock import SimClock
from simulators.errors import SimConfigError


class TestSimClock:
    def test_sim_time_is_speed_times_wall_time(self) -> None:
        """At speed 600, 2 s of wall time are 1200 s of sim time."""
        wall = [100.0]
        clock = SimClock(600, wall=lambda: wall[0])
        assert clock.now() == 0.0
        wall[0] = 102.0
        assert clock.now() == pytest.approx(1200.0)

    @pytest.mark.parametrize("speed", [0.0, -1.0, math.nan, math.inf])
    def test_bad_speed_is_a_config_error(self, speed: float) -> None:
        """A speed that is not a finite number > 0 is refused with a message naming speed."""
        with pytest.raises(SimConfigError, match="speed"):
            SimClock(speed)

    async def test_sleep_waits_sim_seconds(self) -> None:
        """sleep(60) at speed 6000 returns after ~10 ms of wall time."""
        clock = SimClock(6000)
        await clock.sleep(60)
        assert clock.now() >= 60 - 1e-6
