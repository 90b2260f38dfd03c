"""Plating recipes: the shipped one, the loader's dispatch, and the messages bad files get."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from recipes.errors import RecipeError
from recipes.faraday import expected_thickness_um
from recipes.loader import (
    library_path,
    library_recipes,
    load_recipe,
    parse_oven_recipe,
    parse_recipe,
)
from recipes.muf import MufRecipe, parse_muf_recipe
from recipes.oven import ExcursionAction, OvenRecipe
from recipes.plating import (
    Efficiency,
    PlatingBands,
    PlatingHeader,
    PlatingRecipe,
    PlatingStep,
    PlatingTarget,
    Wafer,
    load_plating_recipe,
    parse_plating_recipe,
)
from recipes.render import describe, describe_plating

PATH = library_path() / "rdl-cu-5um.toml"
RDL = PATH.read_text(encoding="utf-8")


def edit(old: str, new: str, text: str = RDL) -> str:
    """`text` with its single occurrence of `old` replaced (fails loudly if not single)."""
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def plating_error(tmp_path: Path, text: str) -> tuple[RecipeError, Path]:
    path = tmp_path / "bad-plating.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecipeError) as info:
        load_plating_recipe(path)
    return info.value, path


def only_line(err: RecipeError) -> str:
    assert len(err.lines) == 1, err.lines
    return err.lines[0]


class TestShipped:
    def test_rdl_cu_5um_loads(self) -> None:
        recipe = load_plating_recipe(PATH)
        assert (recipe.name, recipe.version, recipe.recipe.kind) == ("rdl-cu-5um", 1, "plating")
        assert recipe.steps[0] == PlatingStep(current_density_asd=0.5, duration_s=60.0)
        assert recipe.steps[1].current_density_asd == 2.0
        assert recipe.wafer == Wafer(plated_area_dm2=2.83)
        assert recipe.bands == PlatingBands(
            current_pct=5.0,
            voltage_min_v=0.1,
            voltage_max_v=8.0,
            bath_temp_c=22.0,
            bath_temp_band_c=3.0,
        )
        assert recipe.target == PlatingTarget(thickness_um=5.0, tolerance_pct=8.0)
        assert recipe.efficiency == Efficiency(eta=0.9, eta_min=0.75, eta_max=0.98, eta_window=5)
        assert recipe.on_excursion is ExcursionAction.HOLD_AT_END

    def test_durations_give_5_um_at_eta_0_9(self) -> None:
        assert expected_thickness_um(load_plating_recipe(PATH)) == pytest.approx(5.0, abs=0.02)

    def test_file_cites_domain_and_says_illustrative(self) -> None:
        assert "DOMAIN.md" in RDL
        assert "illustrative" in RDL.lower()

    def test_every_schema_key_appears_in_the_shipped_file(self) -> None:
        data = tomllib.loads(RDL)
        seen: dict[type[BaseModel], set[str]] = {PlatingRecipe: set(data)}
        tables: list[tuple[str, type[BaseModel]]] = [
            ("recipe", PlatingHeader),
            ("wafer", Wafer),
            ("bands", PlatingBands),
            ("target", PlatingTarget),
            ("efficiency", Efficiency),
        ]
        for key, model in tables:
            seen[model] = set(data[key])
        seen[PlatingStep] = {k for step in data["steps"] for k in step}
        missing = {m.__name__: set(m.model_fields) - keys for m, keys in seen.items()}
        assert all(not keys for keys in missing.values()), missing


class TestLoader:
    def test_parse_recipe_dispatches_on_kind(self) -> None:
        """parse_recipe: plating → PlatingRecipe; oven and muf keep working."""
        assert parse_recipe(RDL, "p.toml") == parse_plating_recipe(RDL, "p.toml")
        assert isinstance(load_recipe(PATH), PlatingRecipe)
        assert isinstance(load_recipe(library_path() / "muf-175.toml"), MufRecipe)
        assert isinstance(load_recipe(library_path() / "pmc-175.toml"), OvenRecipe)

    def test_library_listing(self) -> None:
        """kind="plating" lists it; None includes it; the default (oven) does not."""
        assert [p.stem for p in library_recipes("plating")] == ["rdl-cu-5um"]
        assert PATH in library_recipes(None)
        assert PATH not in library_recipes()
        assert PATH not in library_recipes("muf")

    def test_other_loaders_refuse_a_plating_recipe_in_one_line(self) -> None:
        with pytest.raises(RecipeError) as info:
            parse_oven_recipe(RDL, "p.toml")
        assert only_line(info.value).startswith("p.toml: recipe.kind = \"plating\": must be 'oven'")
        with pytest.raises(RecipeError) as info:
            parse_muf_recipe(RDL, "p.toml")
        assert only_line(info.value).startswith("p.toml: recipe.kind = \"plating\": must be 'muf'")

    def test_plating_loader_refuses_other_kinds_in_one_line(self) -> None:
        muf = (library_path() / "muf-175.toml").read_text(encoding="utf-8")
        with pytest.raises(RecipeError) as info:
            parse_plating_recipe(muf, "m.toml")
        assert only_line(info.value).startswith("m.toml: recipe.kind = \"muf\": must be 'plating'")


class TestBadPlatingFiles:
    def test_unknown_key_is_named_with_a_suggestion(self, tmp_path: Path) -> None:
        err, path = plating_error(tmp_path, edit("eta_window = 5", "eta_window = 5\neta_windw = 3"))
        assert only_line(err) == (
            f"{path}: efficiency: unknown key 'eta_windw' (did you mean 'eta_window'?)"
        )

    def test_unknown_key_in_a_step(self, tmp_path: Path) -> None:
        err, path = plating_error(tmp_path, edit("ramp_s = 0.0", "ramp_s = 0.0\ncurrent_asd = 1"))
        assert only_line(err).startswith(f"{path}: steps[0]: unknown key 'current_asd'")

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            (
                "current_density_asd = 0.5",
                "current_density_asd = 0.0",
                "steps[0].current_density_asd = 0: must be > 0",
            ),
            (
                "current_density_asd = 2.0",
                "current_density_asd = -2.0",
                "steps[1].current_density_asd = -2: must be > 0",
            ),
            (
                "current_density_asd = 2.0",
                "current_density_asd = 25.0",
                "steps[1].current_density_asd = 25: must be <= 20",
            ),
            ("duration_s = 60.0", "duration_s = 0", "steps[0].duration_s = 0: must be > 0"),
            ("ramp_s = 0.0", "ramp_s = -1.0", "steps[0].ramp_s = -1: must be >= 0"),
            (
                "plated_area_dm2 = 2.83",
                "plated_area_dm2 = 7.5",
                "wafer.plated_area_dm2 = 7.5: must be <= 7.07",
            ),
            (
                "plated_area_dm2 = 2.83",
                "plated_area_dm2 = 0.0",
                "wafer.plated_area_dm2 = 0: must be > 0",
            ),
            ("eta = 0.9", "eta = 1.2", "efficiency.eta = 1.2: must be <= 1"),
            ("eta = 0.9", "eta = 0.4", "efficiency.eta = 0.4: must be >= 0.5"),
            ("eta_window = 5", "eta_window = 0", "efficiency.eta_window = 0: must be >= 1"),
            (
                "eta_window = 5",
                "eta_window = 2.5",
                "efficiency.eta_window = 2.5: must be an integer, got a float",
            ),
            ("current_pct = 5.0", "current_pct = 0.0", "bands.current_pct = 0: must be > 0"),
        ],
        ids=[
            "density-zero",
            "density-negative",
            "density-above-max",
            "duration-zero",
            "ramp-negative",
            "area-above-wafer",
            "area-zero",
            "eta-above-1",
            "eta-below-0.5",
            "window-zero",
            "window-float",
            "current-band-zero",
        ],
    )
    def test_field_limits(self, tmp_path: Path, old: str, new: str, expected: str) -> None:
        err, path = plating_error(tmp_path, edit(old, new))
        assert only_line(err) == f"{path}: {expected}"

    def test_eta_outside_its_learned_bounds(self, tmp_path: Path) -> None:
        err, path = plating_error(tmp_path, edit("eta_min = 0.75", "eta_min = 0.95"))
        assert only_line(err) == (
            f"{path}: efficiency.eta = 0.9: must be within [0.95, 0.98] "
            "(efficiency.eta_min .. efficiency.eta_max)"
        )

    def test_eta_min_above_eta_max(self, tmp_path: Path) -> None:
        err, path = plating_error(tmp_path, edit("eta_max = 0.98", "eta_max = 0.7"))
        assert only_line(err) == (
            f"{path}: efficiency.eta_min = 0.75: must be <= 0.7 (efficiency.eta_max)"
        )

    @pytest.mark.parametrize("vmin", ["8.0", "9.0"])
    def test_voltage_min_not_below_max(self, tmp_path: Path, vmin: str) -> None:
        err, path = plating_error(tmp_path, edit("voltage_min_v = 0.1", f"voltage_min_v = {vmin}"))
        shown = vmin.removesuffix(".0")
        assert only_line(err) == (
            f"{path}: bands.voltage_min_v = {shown}: must be < 8 (bands.voltage_max_v)"
        )

    def test_ramp_longer_than_its_step(self, tmp_path: Path) -> None:
        err, path = plating_error(tmp_path, edit("ramp_s = 5.0", "ramp_s = 800.0"))
        assert only_line(err) == (
            f"{path}: steps[1].ramp_s = 800: must be <= 743 (duration_s: the ramp is part of it)"
        )

    def test_steps_that_miss_the_target(self, tmp_path: Path) -> None:
        """Halving the bulk step gives ~2.5 µm: the recipe contradicts its own target."""
        err, path = plating_error(tmp_path, edit("duration_s = 743.0", "duration_s = 371.5"))
        line = only_line(err)
        assert line.startswith(f"{path}: target.thickness_um = 5: the steps give 2.54 µm")
        assert "efficiency.eta = 0.9" in line
        assert "± 8 % (target.tolerance_pct)" in line

    def test_no_steps(self, tmp_path: Path) -> None:
        text = RDL[: RDL.index("[[steps]]")] + RDL[RDL.index("[wafer]") :]
        err, path = plating_error(tmp_path, text)
        assert only_line(err) == f"{path}: steps: missing"

    def test_bad_excursion_action(self, tmp_path: Path) -> None:
        err, path = plating_error(tmp_path, edit('"hold_at_end"', '"pause"'))
        assert only_line(err).startswith(f'{path}: on_excursion = "pause": must be one of')

    def test_several_problems_each_get_a_line(self, tmp_path: Path) -> None:
        text = edit("plated_area_dm2 = 2.83", "plated_area_dm2 = 9.0")
        text = edit("voltage_min_v = 0.1", "voltage_min_v = 10.0", text)
        err, path = plating_error(tmp_path, text)
        assert sorted(err.lines) == [
            f"{path}: bands.voltage_min_v = 10: must be < 8 (bands.voltage_max_v)",
            f"{path}: wafer.plated_area_dm2 = 9: must be <= 7.07",
        ]


class TestDescribe:
    def test_describe_plating(self) -> None:
        recipe = load_plating_recipe(PATH)
        text = describe(recipe)
        assert text == describe_plating(recipe)
        assert text.startswith("rdl-cu-5um v1 (plating recipe)")
        assert "5.660" in text  # 2 A/dm² × 2.83 dm²
        assert "voltage 0.1–8 V" in text
        assert "bath 22 ± 3 °C" in text
        assert "5 µm ± 8 % (model: 5.00 µm at η 0.9" in text
        assert "within 0.75–0.98" in text
        assert "hold_at_end" in text
        assert "803 s" in text
