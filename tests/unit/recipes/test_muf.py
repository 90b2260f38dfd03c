"""MUF recipes and EMC material files: the shipped ones, and the messages bad files get."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from recipes.cure import EmcKinetics, isothermal_alpha
from recipes.errors import RecipeError
from recipes.loader import (
    library_path,
    library_recipes,
    load_oven_recipe,
    load_recipe,
    parse_oven_recipe,
    parse_recipe,
)
from recipes.materials import (
    Material,
    library_materials,
    load_material,
    material_path,
    materials_path,
    parse_material,
)
from recipes.muf import (
    Clamp,
    Mold,
    MufHeader,
    MufRecipe,
    Targets,
    Transfer,
    load_muf_recipe,
    material_for,
    parse_muf_recipe,
)
from recipes.oven import ExcursionAction, OvenRecipe
from recipes.render import describe

MUF = (library_path() / "muf-175.toml").read_text(encoding="utf-8")
EMC = material_path("emc-g700").read_text(encoding="utf-8")


def edit(old: str, new: str, text: str = MUF) -> str:
    """`text` with its single occurrence of `old` replaced (fails loudly if not single)."""
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def muf_error(tmp_path: Path, text: str) -> tuple[RecipeError, Path]:
    path = tmp_path / "bad-muf.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecipeError) as info:
        load_muf_recipe(path)
    return info.value, path


def only_line(err: RecipeError) -> str:
    assert len(err.lines) == 1, err.lines
    return err.lines[0]


@pytest.fixture
def materials(tmp_path: Path) -> Path:
    """A materials directory holding a copy of emc-g700."""
    directory = tmp_path / "materials"
    directory.mkdir()
    (directory / "emc-g700.toml").write_text(EMC, encoding="utf-8")
    return directory


class TestShipped:
    def test_muf_175_loads_with_the_domain_numbers(self) -> None:
        """muf-175: 175 ± 5 °C, fill 10 s, cure 120 s, emc-g700, 0.80/0.95, pmc-175, 24 h."""
        recipe = load_muf_recipe(library_path() / "muf-175.toml")
        assert recipe.name == "muf-175"
        assert recipe.version == 1
        assert recipe.mold == Mold(temperature_c=175.0, band_c=5.0)
        assert recipe.transfer.fill_time_s == 10.0
        assert recipe.transfer.cure_time_s == 120.0
        assert 5.0 <= recipe.transfer.pressure_mpa <= 10.0  # DOMAIN.md: ~5–10 MPa
        assert recipe.material == "emc-g700"
        assert recipe.targets == Targets(alpha_after_mold=0.80, alpha_after_pmc=0.95)
        assert recipe.pmc_recipe == "pmc-175"
        assert recipe.qtime_to_pmc_h == 24.0
        assert recipe.on_excursion is ExcursionAction.HOLD_AT_END

    def test_the_linked_pmc_recipe_is_a_shipped_oven_recipe(self) -> None:
        """pmc_recipe names an oven recipe in the library."""
        recipe = load_muf_recipe(library_path() / "muf-175.toml")
        oven = load_oven_recipe(library_path() / f"{recipe.pmc_recipe}.toml")
        assert oven.name == recipe.pmc_recipe

    def test_the_material_resolves(self) -> None:
        """material_for reads recipes/materials/emc-g700.toml with DOMAIN's kinetic constants."""
        material = material_for(load_muf_recipe(library_path() / "muf-175.toml"))
        assert material.name == "emc-g700"
        k = material.kinetics
        assert (k.a1_per_s, k.e1_j_per_mol, k.a2_per_s, k.e2_j_per_mol, k.m, k.n) == (
            1.5e7,
            80e3,
            2.68e6,
            65e3,
            0.8,
            1.8,
        )

    def test_the_material_meets_the_mold_target(self) -> None:
        """The model says a 130 s cycle at the mold temperature meets alpha_after_mold."""
        recipe = load_muf_recipe(library_path() / "muf-175.toml")
        k = material_for(recipe).kinetics
        in_mold = recipe.transfer.fill_time_s + recipe.transfer.cure_time_s
        alpha = isothermal_alpha(recipe.mold.temperature_c, in_mold, k)
        assert alpha >= recipe.targets.alpha_after_mold

    @pytest.mark.parametrize("path", library_materials(), ids=lambda p: p.stem)
    def test_every_shipped_material_loads_under_its_file_name(self, path: Path) -> None:
        """Every material file validates, and its name is its file name."""
        material = load_material(path)
        assert material.name == path.stem
        assert path.parent == materials_path()

    @pytest.mark.parametrize(
        "path",
        [*library_recipes("muf"), *library_materials()],
        ids=lambda p: p.stem,
    )
    def test_shipped_files_say_their_numbers_are_illustrative(self, path: Path) -> None:
        """Each file cites DOMAIN.md and marks its values illustrative."""
        text = path.read_text(encoding="utf-8")
        assert "DOMAIN.md" in text
        assert "illustrative" in text.lower()

    def test_every_schema_key_appears_in_a_shipped_file(self) -> None:
        """The shipped MUF recipe and material use every key of their schemas."""
        seen: dict[type[BaseModel], set[str]] = {}
        for path in library_recipes("muf"):
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            seen.setdefault(MufRecipe, set()).update(data)
            tables: list[tuple[str, type[BaseModel]]] = [
                ("recipe", MufHeader),
                ("mold", Mold),
                ("clamp", Clamp),
                ("transfer", Transfer),
                ("targets", Targets),
            ]
            for key, model in tables:
                seen.setdefault(model, set()).update(data.get(key, {}))
        for path in library_materials():
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            seen.setdefault(Material, set()).update(data)
            seen.setdefault(EmcKinetics, set()).update(data.get("kinetics", {}))
        models: list[type[BaseModel]] = [
            MufRecipe,
            MufHeader,
            Mold,
            Clamp,
            Transfer,
            Targets,
            Material,
            EmcKinetics,
        ]
        missing = {m.__name__: set(m.model_fields) - seen.get(m, set()) for m in models}
        assert all(not keys for keys in missing.values()), missing


class TestLibraryListing:
    def test_default_listing_is_oven_recipes_only(self) -> None:
        """library_recipes() keeps returning oven recipes only, for its existing callers."""
        names = {p.stem for p in library_recipes()}
        assert {"pmc-175", "pi-cure-230"} <= names
        assert "muf-175" not in names
        assert all(isinstance(load_recipe(p), OvenRecipe) for p in library_recipes())

    def test_listing_by_kind(self) -> None:
        """kind="muf" lists the MUF recipes; kind=None lists everything; no material is listed."""
        assert [p.stem for p in library_recipes("muf")] == ["muf-175"]
        everything = library_recipes(None)
        assert {p.stem for p in everything} == {
            p.stem
            for p in library_recipes("oven") + library_recipes("muf") + library_recipes("plating")
        }
        assert not any(p.parent == materials_path() for p in everything)


class TestParseRecipe:
    def test_dispatches_on_kind(self) -> None:
        """parse_recipe returns a MufRecipe for kind "muf" and an OvenRecipe for kind "oven"."""
        assert isinstance(parse_recipe(MUF, "m.toml"), MufRecipe)
        oven_text = (library_path() / "pmc-175.toml").read_text(encoding="utf-8")
        assert isinstance(parse_recipe(oven_text, "o.toml"), OvenRecipe)
        assert parse_recipe(oven_text, "o.toml") == parse_oven_recipe(oven_text, "o.toml")

    def test_load_recipe_equals_the_kind_specific_loader(self) -> None:
        """load_recipe(path) equals load_muf_recipe(path) for a MUF file."""
        path = library_path() / "muf-175.toml"
        assert load_recipe(path) == load_muf_recipe(path)

    def test_unknown_kind(self) -> None:
        """A kind that is neither oven nor muf names the kinds that exist."""
        with pytest.raises(RecipeError) as info:
            parse_recipe(edit('kind = "muf"', 'kind = "press"'), "x.toml")
        assert only_line(info.value) == (
            "x.toml: recipe.kind: unknown kind \"press\": must be one of 'oven', 'muf', 'plating'"
        )

    def test_missing_kind(self) -> None:
        """Without [recipe].kind the recipe cannot be read as either kind."""
        with pytest.raises(RecipeError) as info:
            parse_recipe(edit('kind = "muf"\n', ""), "x.toml")
        assert (
            only_line(info.value)
            == "x.toml: recipe.kind: missing (one of 'oven', 'muf', 'plating')"
        )

    def test_missing_header(self) -> None:
        """Without a [recipe] table the message says so."""
        text = edit('[recipe]\nname = "muf-175"\nversion = 1\nkind = "muf"\n', "")
        with pytest.raises(RecipeError) as info:
            parse_recipe(text, "x.toml")
        assert only_line(info.value) == "x.toml: recipe: missing"

    def test_oven_loader_refuses_a_muf_recipe_in_one_line(self) -> None:
        """parse_oven_recipe on a MUF recipe says it is one, instead of listing every key."""
        with pytest.raises(RecipeError) as info:
            parse_oven_recipe(MUF, "m.toml")
        assert only_line(info.value) == (
            "m.toml: recipe.kind = \"muf\": must be 'oven' "
            "(this is a MUF recipe; parse_recipe reads every kind)"
        )

    def test_muf_loader_refuses_an_oven_recipe_in_one_line(self) -> None:
        """parse_muf_recipe on an oven recipe says it is one."""
        oven_text = (library_path() / "pmc-175.toml").read_text(encoding="utf-8")
        with pytest.raises(RecipeError) as info:
            parse_muf_recipe(oven_text, "o.toml")
        assert only_line(info.value).startswith("o.toml: recipe.kind = \"oven\": must be 'muf'")

    def test_parsing_reads_no_material_file(self, tmp_path: Path) -> None:
        """A recipe parses the same wherever it is stored: the material is only a name."""
        recipe = parse_muf_recipe(edit('"emc-g700"', '"emc-not-here"'), "db row")
        assert recipe.material == "emc-not-here"


class TestBadMufFiles:
    def test_unknown_key_is_named_with_a_suggestion(self, tmp_path: Path) -> None:
        """A misspelt key names its table and the key it probably meant."""
        err, path = muf_error(tmp_path, edit("band_kn = 30.0", "band_kn = 30.0\nforce_kN = 1"))
        assert only_line(err) == f"{path}: clamp: unknown key 'force_kN' (did you mean 'force_kn'?)"

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            ("band_c = 5.0", "band_c = 0.0", "mold.band_c = 0: must be > 0"),
            ("band_kn = 30.0", "band_kn = -1.0", "clamp.band_kn = -1: must be > 0"),
            ("band_mpa = 1.0", "band_mpa = 0", "transfer.band_mpa = 0: must be > 0"),
        ],
        ids=["mold", "clamp", "transfer"],
    )
    def test_bands_must_be_positive(
        self, tmp_path: Path, old: str, new: str, expected: str
    ) -> None:
        """A band of zero or less is refused, naming the field and the bound."""
        err, path = muf_error(tmp_path, edit(old, new))
        assert only_line(err) == f"{path}: {expected}"

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            ("band_kn = 30.0", "band_kn = 600.0", "clamp.band_kn = 600: must be < 600 "),
            ("band_mpa = 1.0", "band_mpa = 9.0", "transfer.band_mpa = 9: must be < 7 "),
        ],
        ids=["clamp", "transfer"],
    )
    def test_bands_must_be_narrower_than_the_setpoint(
        self, tmp_path: Path, old: str, new: str, expected: str
    ) -> None:
        """A band as wide as its setpoint (accepting zero force or pressure) is refused."""
        err, path = muf_error(tmp_path, edit(old, new))
        assert only_line(err).startswith(f"{path}: {expected}")

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            ("alpha_after_mold = 0.80", "alpha_after_mold = 0.0", "must be > 0"),
            ("alpha_after_mold = 0.80", "alpha_after_mold = -0.5", "must be > 0"),
            ("alpha_after_pmc = 0.95", "alpha_after_pmc = 1.0", "must be < 1"),
            ("alpha_after_pmc = 0.95", "alpha_after_pmc = 1.2", "must be < 1"),
        ],
        ids=["mold-zero", "mold-negative", "pmc-one", "pmc-above-one"],
    )
    def test_targets_must_be_fractions(
        self, tmp_path: Path, old: str, new: str, expected: str
    ) -> None:
        """A target α outside (0, 1) is refused with its bound."""
        err, path = muf_error(tmp_path, edit(old, new))
        field, value = new.split(" = ")
        shown = value.removesuffix(".0") if value.endswith(".0") else value
        assert only_line(err) == f"{path}: targets.{field} = {shown}: {expected}"

    def test_pmc_target_below_the_mold_target(self, tmp_path: Path) -> None:
        """alpha_after_pmc < alpha_after_mold (cure never goes back) names both fields."""
        err, path = muf_error(tmp_path, edit("alpha_after_pmc = 0.95", "alpha_after_pmc = 0.7"))
        assert only_line(err) == (
            f"{path}: targets.alpha_after_pmc = 0.7: must be >= 0.8 (targets.alpha_after_mold)"
        )

    def test_fill_must_be_shorter_than_cure(self, tmp_path: Path) -> None:
        """A fill as long as the cure is refused, naming cure_time_s as the limit."""
        err, path = muf_error(tmp_path, edit("fill_time_s = 10.0", "fill_time_s = 120.0"))
        assert only_line(err) == (
            f"{path}: transfer.fill_time_s = 120: must be < 120 (transfer.cure_time_s)"
        )

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            ("cure_time_s = 120.0", "cure_time_s = 0.0", "transfer.cure_time_s = 0: must be > 0"),
            ("cure_time_s = 120.0", "cure_time_s = 7200.0", "transfer.cure_time_s = 7200: "),
            ("fill_time_s = 10.0", "fill_time_s = -1.0", "transfer.fill_time_s = -1: must be > 0"),
            ("qtime_to_pmc_h = 24.0", "qtime_to_pmc_h = 0", "qtime_to_pmc_h = 0: must be > 0"),
        ],
        ids=["cure-zero", "cure-two-hours", "fill-negative", "qtime-zero"],
    )
    def test_times_must_be_positive_and_plausible(
        self, tmp_path: Path, old: str, new: str, expected: str
    ) -> None:
        """Times are > 0; an in-mold cure is bounded (1800 s) so a typo in minutes is caught."""
        err, path = muf_error(tmp_path, edit(old, new))
        assert only_line(err).startswith(f"{path}: {expected}")

    def test_material_must_be_a_plain_name(self, tmp_path: Path) -> None:
        """A material reference with a path separator is refused (it becomes a file name)."""
        err, path = muf_error(tmp_path, edit('"emc-g700"', '"../emc-g700"'))
        assert only_line(err).startswith(f'{path}: material = "../emc-g700": must match')

    def test_material_table_is_not_a_reference(self, tmp_path: Path) -> None:
        """`material` must be a name; a number is refused with its type."""
        err, path = muf_error(tmp_path, edit('"emc-g700"', "700"))
        assert only_line(err) == f"{path}: material = 700: must be a string, got an integer"

    def test_unknown_excursion_policy(self, tmp_path: Path) -> None:
        """on_excursion is the oven's ExcursionAction."""
        err, path = muf_error(tmp_path, edit('"hold_at_end"', '"pause"'))
        assert only_line(err) == (
            f"{path}: on_excursion = \"pause\": must be one of 'alarm', 'hold_at_end' or 'abort'"
        )

    def test_every_problem_gets_its_own_line(self, tmp_path: Path) -> None:
        """Several problems are all reported, one line each."""
        text = edit("band_c = 5.0", "band_c = 0.0")
        text = edit("alpha_after_pmc = 0.95", "alpha_after_pmc = 0.5", text)
        err, path = muf_error(tmp_path, text)
        assert err.lines == [
            f"{path}: mold.band_c = 0: must be > 0",
            f"{path}: targets.alpha_after_pmc = 0.5: must be >= 0.8 (targets.alpha_after_mold)",
        ]


class TestMaterialResolution:
    def test_resolves_in_the_given_directory(self, materials: Path) -> None:
        """material_for reads <materials_dir>/<name>.toml."""
        recipe = parse_muf_recipe(MUF, "m.toml")
        assert material_for(recipe, materials_dir=materials) == load_material(
            material_path("emc-g700")
        )

    def test_missing_material_file(self, materials: Path) -> None:
        """A reference to no file names the recipe, the field, the path and what exists."""
        recipe = parse_muf_recipe(edit('"emc-g700"', '"emc-nope"'), "m.toml")
        with pytest.raises(RecipeError) as info:
            material_for(recipe, "m.toml", materials_dir=materials)
        assert only_line(info.value) == (
            f'm.toml: material = "emc-nope": no material file {materials / "emc-nope.toml"} '
            "(materials there: emc-g700)"
        )

    def test_default_source_is_name_and_version(self, materials: Path) -> None:
        """Without a source, the error names the recipe as '<name> v<version>'."""
        recipe = parse_muf_recipe(edit('"emc-g700"', '"emc-nope"'), "m.toml")
        with pytest.raises(RecipeError) as info:
            material_for(recipe, materials_dir=materials)
        assert only_line(info.value).startswith('muf-175 v1: material = "emc-nope": ')

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            ("n = 1.8 ", "n = -1.0", "kinetics.n = -1: must be > 0"),
            ("e1_j_per_mol = 80000.0", "e1_j_per_mol = -5.0", "kinetics.e1_j_per_mol = -5: "),
            ("tg_lambda = 0.5", "tg_lambda = 1.5", "kinetics.tg_lambda = 1.5: must be <= 1"),
            ("tg_inf_c = 200.0", "tg_inf_c = 10.0", "kinetics.tg_inf_c = 10: must be > 20 "),
            ("c = 80.0", 'c = "80"', 'kinetics.c = "80": must be a number, got a string'),
            ("a1_per_s = 1.5e7", "a1_per_s = nan", "kinetics.a1_per_s = nan: must be a finite"),
            ("m = 0.8", "mm = 0.8", "kinetics.m: missing"),
        ],
        ids=["n", "e1", "lambda", "tg-order", "string", "nan", "missing"],
    )
    def test_bad_material_values(self, materials: Path, old: str, new: str, expected: str) -> None:
        """A bad material file is reported on the recipe's material line, quoting the material
        file, the field and the limit."""
        bad = materials / "emc-g700.toml"
        bad.write_text(edit(old, new, EMC), encoding="utf-8")
        recipe = parse_muf_recipe(MUF, "m.toml")
        with pytest.raises(RecipeError) as info:
            material_for(recipe, "m.toml", materials_dir=materials)
        assert info.value.lines[0].startswith(f'm.toml: material = "emc-g700": {bad}: {expected}')

    def test_material_name_must_be_its_file_name(self, materials: Path) -> None:
        """A material file whose name is not its file name is refused on resolution."""
        (materials / "emc-copy.toml").write_text(EMC, encoding="utf-8")
        recipe = parse_muf_recipe(edit('"emc-g700"', '"emc-copy"'), "m.toml")
        with pytest.raises(RecipeError) as info:
            material_for(recipe, "m.toml", materials_dir=materials)
        assert only_line(info.value) == (
            f'm.toml: material = "emc-copy": {materials / "emc-copy.toml"}: '
            'name = "emc-g700": must be "emc-copy" (the file name)'
        )

    def test_material_toml_syntax_error(self, materials: Path) -> None:
        """Broken TOML in the material file is located by line and column."""
        bad = materials / "emc-g700.toml"
        bad.write_text(edit("m = 0.8", "m = ", EMC), encoding="utf-8")
        recipe = parse_muf_recipe(MUF, "m.toml")
        with pytest.raises(RecipeError) as info:
            material_for(recipe, "m.toml", materials_dir=materials)
        line = only_line(info.value)
        assert line.startswith(f'm.toml: material = "emc-g700": {bad}:')
        assert "invalid TOML" in line


class TestMaterialFiles:
    def test_parse_equals_load(self) -> None:
        """parse_material of the file's text equals load_material of the file."""
        path = material_path("emc-g700")
        assert parse_material(EMC, str(path)) == load_material(path)

    def test_unknown_kinetics_key(self) -> None:
        """An unknown key in [kinetics] is named with a suggestion."""
        with pytest.raises(RecipeError) as info:
            parse_material(edit("tg_lambda = 0.5", "tg_lambda = 0.5\ntg_lamda = 0.5", EMC), "e")
        assert only_line(info.value) == (
            "e: kinetics: unknown key 'tg_lamda' (did you mean 'tg_lambda'?)"
        )

    def test_wrong_kind(self) -> None:
        """A material file must say kind = "emc"."""
        with pytest.raises(RecipeError) as info:
            parse_material(edit('kind = "emc"', 'kind = "resin"', EMC), "e")
        assert only_line(info.value) == "e: kind = \"resin\": must be 'emc'"

    def test_missing_file(self, tmp_path: Path) -> None:
        """A material file that does not exist is a RecipeError naming it."""
        path = tmp_path / "nope.toml"
        with pytest.raises(RecipeError) as info:
            load_material(path)
        assert only_line(info.value) == f"{path}: cannot read: No such file or directory"


class TestDescribe:
    @pytest.fixture
    def recipe(self) -> MufRecipe:
        return load_muf_recipe(library_path() / "muf-175.toml")

    def test_summary_lists_every_setting(self, recipe: MufRecipe) -> None:
        """The summary shows the press settings, targets, PMC link, Q-time and policy."""
        text = describe(recipe, material=material_for(recipe))
        assert text.startswith("muf-175 v1 (MUF recipe)")
        for expected in (
            "material:     emc-g700 v1",
            "mold:         175 ± 5 °C (top and bottom)",
            "clamp:        600 ± 30 kN",
            "transfer:     7 ± 1 MPa; fill 10 s, cure 120 s in the mold",
            "α >= 0.8 after molding (model: 0.89",
            "α >= 0.95 after PMC",
            "oven recipe pmc-175, to start within 24 h of molding end",
            "on excursion: hold_at_end",
        ):
            assert expected in text
        assert "BELOW" not in text

    def test_without_the_material_no_prediction(self, recipe: MufRecipe) -> None:
        """Without the material, the summary names it and predicts nothing."""
        text = describe(recipe)
        assert "material:     emc-g700 (not read)" in text
        assert "model:" not in text

    def test_an_unreachable_target_is_flagged(self, recipe: MufRecipe) -> None:
        """A cycle too short for the mold target is marked BELOW the target."""
        short = parse_muf_recipe(edit("cure_time_s = 120.0", "cure_time_s = 20.0"), "short.toml")
        assert "BELOW the target" in describe(short, material=material_for(recipe))

    def test_data_roundtrip(self, recipe: MufRecipe) -> None:
        """A recipe validates back from its own dump (the schema has no hidden state)."""
        data: dict[str, Any] = recipe.model_dump(mode="json")
        assert MufRecipe.model_validate(data, strict=False) == recipe
