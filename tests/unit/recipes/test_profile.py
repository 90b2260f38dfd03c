"""The setpoint profile a recipe programs: setpoint(t), the active segment, durations."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recipes.loader import library_path, load_oven_recipe
from recipes.oven import OvenRecipe
from recipes.profile import (
    ProfilePoint,
    expand,
    segment_at,
    segment_windows,
    setpoint_at,
    total_duration_s,
)

MIN = 60.0


def oven(segments: list[dict[str, Any]], max_rate: float = 3.0) -> OvenRecipe:
    """A valid recipe around `segments` (band defaults to 5 °C)."""
    return OvenRecipe.model_validate(
        {
            "recipe": {"name": "t", "version": 1, "kind": "oven"},
            "limits": {"max_ramp_rate_c_per_min": max_rate},
            "atmosphere": {"o2_ppm_max": 100.0, "n2_flow_min_lpm": 0.0, "n2_setpoint_lpm": 0.0},
            "on_excursion": "alarm",
            "segments": [{"band_c": 5.0, **s} for s in segments],
        }
    )


def ramp(target: float, rate: float) -> dict[str, Any]:
    return {"kind": "ramp", "target_c": target, "rate_c_per_min": rate}


def soak(target: float, minutes: float) -> dict[str, Any]:
    return {"kind": "soak", "target_c": target, "duration_min": minutes}


@pytest.fixture(scope="module")
def pmc() -> OvenRecipe:
    return load_oven_recipe(library_path() / "pmc-175.toml")


class TestPmc175:
    """pmc-175 from 25 °C: up 150 °C at 2.5 °C/min (60 min), 240 min soak, down 125 °C at 2."""

    def test_segment_windows(self, pmc: OvenRecipe) -> None:
        """The ramp ends at 60 min, the soak at 300 min, the cool-down at 362.5 min."""
        assert segment_windows(pmc, 25.0) == [
            (0.0, 60 * MIN),
            (60 * MIN, 300 * MIN),
            (300 * MIN, 362.5 * MIN),
        ]
        assert total_duration_s(pmc, 25.0) == 362.5 * MIN

    def test_expand_gives_the_breakpoints(self, pmc: OvenRecipe) -> None:
        """Breakpoints: the start, then each segment's end at its target."""
        assert expand(pmc, 25.0) == [
            ProfilePoint(0.0, 25.0),
            ProfilePoint(60 * MIN, 175.0),
            ProfilePoint(300 * MIN, 175.0),
            ProfilePoint(362.5 * MIN, 50.0),
        ]

    @pytest.mark.parametrize(
        ("minutes", "expected_c"),
        [
            (0, 25.0),
            (10, 50.0),  # 2.5 °C/min × 10 min
            (30, 100.0),
            (60, 175.0),
            (170, 175.0),
            (300, 175.0),
            (300 + 31.25, 112.5),  # 2 °C/min × 31.25 min below 175
            (362.5, 50.0),
            (1000, 50.0),  # after the program the last target holds
        ],
    )
    def test_setpoint_at_known_times(
        self, pmc: OvenRecipe, minutes: float, expected_c: float
    ) -> None:
        """setpoint_at interpolates each ramp linearly and holds the soak."""
        assert setpoint_at(pmc, minutes * MIN, 25.0) == pytest.approx(expected_c)

    @pytest.mark.parametrize(
        ("minutes", "index"),
        [(0, 0), (59.99, 0), (60, 1), (299.99, 1), (300, 2), (362.49, 2), (362.5, 2), (1e4, 2)],
    )
    def test_segment_at(self, pmc: OvenRecipe, minutes: float, index: int) -> None:
        """A boundary belongs to the segment that starts there; after the end, the last."""
        assert segment_at(pmc, minutes * MIN, 25.0) == index


class TestStartTemperature:
    def test_first_ramp_is_timed_from_the_start_temperature(self, pmc: OvenRecipe) -> None:
        """From 55 °C the first ramp is 120 °C at 2.5 °C/min, 48 min; later windows shift."""
        assert segment_windows(pmc, 55.0)[0] == (0.0, 48 * MIN)
        assert total_duration_s(pmc, 55.0) == (48 + 240 + 62.5) * MIN

    def test_start_above_the_first_target_ramps_down(self) -> None:
        """A first ramp below the start temperature descends at its rate."""
        recipe = oven([ramp(100.0, 2.0), soak(100.0, 10)])
        assert segment_windows(recipe, 140.0)[0] == (0.0, 20 * MIN)
        assert setpoint_at(recipe, 5 * MIN, 140.0) == pytest.approx(130.0)

    def test_ramp_to_where_it_starts_is_empty(self) -> None:
        """A ramp with nothing to do takes no time and is never the active segment."""
        recipe = oven([ramp(25.0, 3.0), soak(25.0, 10)])
        assert segment_windows(recipe, 25.0) == [(0.0, 0.0), (0.0, 10 * MIN)]
        assert segment_at(recipe, 0.0, 25.0) == 1
        assert setpoint_at(recipe, 0.0, 25.0) == 25.0

    def test_program_that_opens_with_a_soak_holds_its_target(self) -> None:
        """A leading soak holds its own target from t = 0, whatever the start temperature."""
        recipe = oven([soak(30.0, 15), ramp(90.0, 2.0)])
        assert expand(recipe, 25.0)[0] == ProfilePoint(0.0, 30.0)
        assert setpoint_at(recipe, 0.0, 25.0) == 30.0
        assert setpoint_at(recipe, 15 * MIN, 25.0) == 30.0
        assert setpoint_at(recipe, 25 * MIN, 25.0) == pytest.approx(50.0)


class TestBadArguments:
    @pytest.mark.parametrize("t_s", [-1.0, math.nan, math.inf])
    def test_time_must_be_finite_and_not_negative(self, pmc: OvenRecipe, t_s: float) -> None:
        """Program time before the start, or not a number, is a ValueError."""
        with pytest.raises(ValueError, match="t_s must be"):
            setpoint_at(pmc, t_s, 25.0)
        with pytest.raises(ValueError, match="t_s must be"):
            segment_at(pmc, t_s, 25.0)

    def test_start_temperature_must_be_finite(self, pmc: OvenRecipe) -> None:
        """A NaN start temperature (an open thermocouple) is refused, not propagated."""
        with pytest.raises(ValueError, match="start_c must be a finite number"):
            segment_windows(pmc, math.nan)


@st.composite
def programs(draw: st.DrawFn) -> tuple[OvenRecipe, float]:
    """A valid recipe (first segment a ramp) and a start temperature."""
    max_rate = draw(st.floats(0.1, 10.0))
    level = start_c = draw(st.floats(0.0, 60.0))
    segments = []
    for i in range(draw(st.integers(1, 16))):
        if i > 0 and draw(st.booleans()):
            segments.append(soak(level, draw(st.floats(0.1, 600.0))))
        else:
            level = draw(st.floats(0.0, 450.0))
            segments.append(ramp(level, draw(st.floats(0.01, max_rate))))
    return oven(segments, max_rate), start_c


def program_times(recipe: OvenRecipe, start_c: float) -> st.SearchStrategy[float]:
    return st.floats(0.0, total_duration_s(recipe, start_c) * 1.1 + 1.0)


class TestProperties:
    @given(data=st.data(), program=programs())
    def test_setpoint_stays_between_start_and_targets(
        self, data: st.DataObject, program: tuple[OvenRecipe, float]
    ) -> None:
        """The setpoint never leaves [min, max] of the start and all targets."""
        recipe, start_c = program
        levels = [start_c, *(s.target_c for s in recipe.segments)]
        t = data.draw(program_times(recipe, start_c))
        assert min(levels) - 1e-9 <= setpoint_at(recipe, t, start_c) <= max(levels) + 1e-9

    @given(data=st.data(), program=programs())
    def test_setpoint_never_changes_faster_than_the_max_ramp(
        self, data: st.DataObject, program: tuple[OvenRecipe, float]
    ) -> None:
        """|ΔSP| ≤ max_ramp_rate × Δt between any two program times."""
        recipe, start_c = program
        t1, t2 = sorted(data.draw(st.lists(program_times(recipe, start_c), min_size=2, max_size=2)))
        rate_per_s = recipe.limits.max_ramp_rate_c_per_min / 60.0
        change = abs(setpoint_at(recipe, t2, start_c) - setpoint_at(recipe, t1, start_c))
        assert change <= rate_per_s * (t2 - t1) * (1 + 1e-9) + 1e-9

    @given(data=st.data(), program=programs())
    def test_active_segment_window_contains_the_time(
        self, data: st.DataObject, program: tuple[OvenRecipe, float]
    ) -> None:
        """segment_at(t) is the segment whose [start, end) holds t (the last one after the end)."""
        recipe, start_c = program
        windows = segment_windows(recipe, start_c)
        t = data.draw(program_times(recipe, start_c))
        i = segment_at(recipe, t, start_c)
        start, end = windows[i]
        if t < windows[-1][1]:
            assert start <= t < end
        else:
            assert i == len(windows) - 1

    @given(program=programs())
    def test_windows_tile_the_program_and_end_at_their_targets(
        self, program: tuple[OvenRecipe, float]
    ) -> None:
        """Windows are back to back from 0 to the total; each segment ends at its target."""
        recipe, start_c = program
        windows = segment_windows(recipe, start_c)
        assert windows[0][0] == 0.0
        assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))
        assert total_duration_s(recipe, start_c) == windows[-1][1]
        for (_, end), seg in zip(windows, recipe.segments, strict=True):
            assert setpoint_at(recipe, end, start_c) == pytest.approx(seg.target_c)
