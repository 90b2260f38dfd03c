"""Recipes as terminal text: the profile plot and the summary behind `pkgline recipe show`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recipes.loader import library_path, library_recipes, load_oven_recipe
from recipes.oven import OvenRecipe
from recipes.render import describe, render_profile


@pytest.fixture(scope="module")
def pmc() -> OvenRecipe:
    return load_oven_recipe(library_path() / "pmc-175.toml")


@pytest.fixture(scope="module")
def pi_cure() -> OvenRecipe:
    return load_oven_recipe(library_path() / "pi-cure-230.toml")


def plot_area(lines: list[str]) -> tuple[int, list[str]]:
    """The column where the plot starts, and the plot rows (between header and time axis)."""
    corner = lines[-2].index("+")
    return corner + 1, [line[corner + 1 :] for line in lines[1:-2]]


class TestRenderProfile:
    @pytest.mark.parametrize("path", library_recipes(), ids=lambda p: p.stem)
    @pytest.mark.parametrize(("width", "height"), [(72, 16), (40, 8), (24, 6), (120, 30)])
    def test_output_has_exactly_the_requested_size(
        self, path: Path, width: int, height: int
    ) -> None:
        """`height` lines, each exactly `width` characters, so a TUI box can hold it."""
        recipe = load_oven_recipe(path)
        lines = render_profile(recipe, width=width, height=height).split("\n")
        assert len(lines) == height
        assert {len(line) for line in lines} == {width}

    def test_axes_are_labelled_in_degrees_and_hours(self, pmc: OvenRecipe) -> None:
        """°C heads the temperature axis; the time axis is labelled in hours up to the end."""
        lines = render_profile(pmc).split("\n")
        assert lines[0].lstrip().startswith("°C")
        assert lines[-1].lstrip().startswith("h")
        hours = lines[-1].split()[1:]
        assert hours == ["0", "1", "2", "3", "4", "5", "6"]  # the program lasts 6.04 h
        start, _ = plot_area(lines)
        temps = [int(m) for line in lines[1:-2] if (m := line[: start - 1].strip())]
        assert temps == [150, 100, 50]  # 25..175 °C, top row first

    def test_segment_boundaries_are_drawn(self, pmc: OvenRecipe) -> None:
        """Each boundary between segments is a ':' column, and each segment is numbered above."""
        lines = render_profile(pmc).split("\n")
        _, rows = plot_area(lines)
        boundary_cols = {c for row in rows for c, ch in enumerate(row) if ch == ":"}
        assert len(boundary_cols) == 2  # three segments
        assert re.findall(r"#\d", lines[0]) == ["#0", "#1", "#2"]

    def test_the_curve_follows_the_profile(self, pmc: OvenRecipe) -> None:
        """The soak is the longest flat run, at the top; the curve starts and ends lower."""
        _, rows = plot_area(render_profile(pmc).split("\n"))
        counts = [row.count("*") for row in rows]
        soak_row = counts.index(max(counts))
        assert max(counts) >= 0.6 * len(rows[0])  # 240 of 362.5 min
        first_col = [r for r, row in enumerate(rows) if row[0] == "*"]
        last_col = [r for r, row in enumerate(rows) if row[-1] == "*"]
        assert soak_row < min(first_col)  # row 0 is the top
        assert soak_row < min(last_col)

    def test_too_small_a_canvas_is_refused(self, pmc: OvenRecipe) -> None:
        """A plot that cannot hold its axes raises ValueError instead of drawing garbage."""
        with pytest.raises(ValueError, match="width >= 24 and height >= 6"):
            render_profile(pmc, width=20, height=16)
        with pytest.raises(ValueError, match="width >= 24 and height >= 6"):
            render_profile(pmc, width=72, height=5)


class TestDescribe:
    def test_lists_each_segment(self, pmc: OvenRecipe) -> None:
        """One table row per segment: index, kind, target, rate, duration, band, guaranteed."""
        rows = [line.split() for line in describe(pmc).split("\n") if re.match(r"\s+\d\s", line)]
        assert rows == [
            ["0", "ramp", "175", "2.5", "60", "10", "-"],
            ["1", "soak", "175", "-", "240", "3", "yes"],
            ["2", "ramp", "50", "2", "62.5", "10", "-"],
        ]

    def test_shows_limits_atmosphere_policy_completion_and_total(self, pmc: OvenRecipe) -> None:
        """Every enforcement rule of the recipe appears, with its number."""
        text = describe(pmc)
        assert text.startswith("pmc-175 v1")
        assert "ramp rate <= 3 °C/min (measured over 120 s); start at <= 60 °C" in text
        assert "O2 <= 100 ppm; N2 flow >= 20 L/min (setpoint 50 L/min)" in text
        assert "on excursion: hold_at_end (let the program finish, then hold the lot)" in text
        assert "shortfall <= 1 min; end temperature <= 60 °C" in text
        assert "362.5 min (6.04 h)" in text

    def test_non_guaranteed_soak_says_no(self, pi_cure: OvenRecipe) -> None:
        """A soak that counts regardless of the band is marked 'no'."""
        rows = [line.split() for line in describe(pi_cure).split("\n") if " soak " in line]
        assert [row[-1] for row in rows] == ["no", "yes"]

    def test_ramp_durations_follow_the_start_temperature(self, pmc: OvenRecipe) -> None:
        """From 55 °C the first ramp lasts 48 min, and the header says which start was used."""
        text = describe(pmc, start_c=55.0)
        assert "ramp durations from 55 °C" in text
        first = next(line.split() for line in text.split("\n") if re.match(r"\s+0\s", line))
        assert first[4] == "48"
