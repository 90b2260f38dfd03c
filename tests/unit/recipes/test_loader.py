"""Loading oven recipes: the shipped library, and the messages bad files get."""

from __future__ import annotations

import hashlib
import pickle
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from recipes.errors import RecipeError
from recipes.loader import (
    check_against_tool,
    library_path,
    library_recipes,
    load_oven_recipe,
    parse_oven_recipe,
    recipe_digest,
)
from recipes.oven import (
    Atmosphere,
    Completion,
    ExcursionAction,
    Header,
    Limits,
    OvenRecipe,
    RampSegment,
    SoakSegment,
)

# A small valid recipe; each bad-file test edits exactly one spot of it.
GOOD = """\
on_excursion = "hold_at_end"

[recipe]
name = "test-oven"
version = 1
kind = "oven"

[limits]
max_ramp_rate_c_per_min = 3.0

[atmosphere]
o2_ppm_max = 100.0
n2_flow_min_lpm = 20.0
n2_setpoint_lpm = 50.0

[[segments]]
kind = "ramp"
target_c = 175.0
rate_c_per_min = 2.5
band_c = 10.0

[[segments]]
kind = "soak"
target_c = 175.0
duration_min = 240.0
band_c = 3.0
"""


def edit(old: str, new: str, text: str = GOOD) -> str:
    """`text` with its single occurrence of `old` replaced (fails loudly if not single)."""
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def load_error(tmp_path: Path, text: str) -> tuple[RecipeError, Path]:
    path = tmp_path / "bad-recipe.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecipeError) as info:
        load_oven_recipe(path)
    return info.value, path


def only_line(err: RecipeError) -> str:
    assert len(err.lines) == 1, err.lines
    return err.lines[0]


class TestShippedLibrary:
    def test_library_holds_the_pmc_and_polyimide_recipes(self) -> None:
        """The library directory ships pmc-175 and pi-cure-230."""
        names = {p.name for p in library_recipes()}
        assert {"pmc-175.toml", "pi-cure-230.toml"} <= names
        assert all(p.parent == library_path() for p in library_recipes())

    @pytest.mark.parametrize("path", library_recipes(), ids=lambda p: p.stem)
    def test_every_shipped_recipe_loads(self, path: Path) -> None:
        """Every shipped file validates, and its recipe name is its file name."""
        recipe = load_oven_recipe(path)
        assert recipe.name == path.stem
        assert recipe.version >= 1

    @pytest.mark.parametrize("path", library_recipes(), ids=lambda p: p.stem)
    def test_shipped_recipes_fit_a_tool_with_the_domain_limits(self, path: Path) -> None:
        """A tool that ramps 3 °C/min and reaches 450 °C can run every shipped recipe."""
        check_against_tool(load_oven_recipe(path), max_ramp_c_per_min=3.0, max_temp_c=450.0)

    @pytest.mark.parametrize("path", library_recipes(), ids=lambda p: p.stem)
    def test_shipped_files_say_their_numbers_are_illustrative(self, path: Path) -> None:
        """Each file cites DOMAIN.md and marks its values illustrative."""
        text = path.read_text(encoding="utf-8")
        assert "DOMAIN.md" in text
        assert "illustrative" in text.lower()

    def test_every_schema_key_appears_in_a_shipped_file(self) -> None:
        """Together the shipped files use every key of the schema, so they document it."""
        seen: dict[type[BaseModel], set[str]] = {}

        def note(model: type[BaseModel], table: dict[str, Any]) -> None:
            seen.setdefault(model, set()).update(table)

        for path in library_recipes():
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            note(OvenRecipe, data)
            tables: list[tuple[str, type[BaseModel]]] = [
                ("recipe", Header),
                ("limits", Limits),
                ("atmosphere", Atmosphere),
                ("completion", Completion),
            ]
            for key, model in tables:
                note(model, data.get(key, {}))
            for seg in data["segments"]:
                note(RampSegment if seg["kind"] == "ramp" else SoakSegment, seg)

        models: list[type[BaseModel]] = [
            OvenRecipe,
            Header,
            Limits,
            Atmosphere,
            Completion,
            RampSegment,
            SoakSegment,
        ]
        missing = {m.__name__: set(m.model_fields) - seen.get(m, set()) for m in models}
        assert all(not keys for keys in missing.values()), missing

    def test_every_excursion_policy_but_alarm_is_shipped(self) -> None:
        """The library shows both holding policies: hold_at_end (PMC) and abort (PI)."""
        policies = {load_oven_recipe(p).on_excursion for p in library_recipes()}
        assert {ExcursionAction.HOLD_AT_END, ExcursionAction.ABORT} <= policies


class TestParse:
    def test_valid_text_gives_the_recipe_it_describes(self) -> None:
        """Values come through as written; optional keys take their documented defaults."""
        recipe = parse_oven_recipe(GOOD, "good.toml")
        assert recipe.name == "test-oven"
        assert recipe.on_excursion is ExcursionAction.HOLD_AT_END
        assert recipe.limits.ramp_rate_window_s == 120.0
        assert recipe.completion == Completion(soak_shortfall_max_min=0.0, end_temp_max_c=60.0)
        soak = recipe.segments[1]
        assert isinstance(soak, SoakSegment)
        assert soak.guaranteed is True
        assert soak.duration_min == 240.0

    def test_load_reads_the_same_recipe_as_parse(self, tmp_path: Path) -> None:
        """load_oven_recipe(path) equals parse_oven_recipe of the file's text."""
        path = tmp_path / "good.toml"
        path.write_text(GOOD, encoding="utf-8")
        assert load_oven_recipe(path) == parse_oven_recipe(GOOD, str(path))

    def test_a_byte_order_mark_is_tolerated(self, tmp_path: Path) -> None:
        """A UTF-8 BOM (some Windows editors write one) does not break loading."""
        path = tmp_path / "bom.toml"
        path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
        assert load_oven_recipe(path).name == "test-oven"


class TestDigest:
    def test_digest_is_sha256_of_the_file_content(self) -> None:
        """recipe_digest is the hex SHA-256 of the UTF-8 bytes, for text or bytes alike."""
        expected = hashlib.sha256(GOOD.encode("utf-8")).hexdigest()
        assert recipe_digest(GOOD) == expected
        assert recipe_digest(GOOD.encode("utf-8")) == expected

    def test_any_edit_changes_the_digest(self) -> None:
        """Even a comment or whitespace change gives a new digest: it identifies the text."""
        assert recipe_digest(GOOD) != recipe_digest(GOOD + "# note\n")


class TestBadFiles:
    def test_ramp_rate_above_the_recipe_limit(self, tmp_path: Path) -> None:
        """A ramp faster than limits.max_ramp_rate_c_per_min names the segment and the limit."""
        err, path = load_error(tmp_path, edit("rate_c_per_min = 2.5", "rate_c_per_min = 4.0"))
        assert only_line(err) == (
            f"{path}: segments[0].rate_c_per_min = 4: must be <= 3 (limits.max_ramp_rate_c_per_min)"
        )

    @pytest.mark.parametrize("value", ["0", "-5", "0.0"])
    def test_soak_duration_must_be_positive(self, tmp_path: Path, value: str) -> None:
        """A soak of zero or negative length is refused with 'must be > 0'."""
        err, path = load_error(tmp_path, edit("duration_min = 240.0", f"duration_min = {value}"))
        line = only_line(err)
        assert line.startswith(f"{path}: segments[1].duration_min = ")
        assert line.endswith(": must be > 0")

    def test_ramp_rate_must_be_positive(self, tmp_path: Path) -> None:
        """A ramp rate of 0 would never reach its target; it is refused."""
        err, path = load_error(tmp_path, edit("rate_c_per_min = 2.5", "rate_c_per_min = 0"))
        assert only_line(err) == f"{path}: segments[0].rate_c_per_min = 0: must be > 0"

    def test_unknown_key_is_named_with_a_suggestion(self, tmp_path: Path) -> None:
        """A misspelt key is reported where it stands, with the key it probably meant."""
        err, path = load_error(
            tmp_path, edit("max_ramp_rate_c_per_min = 3.0", "max_ramp_rate = 3.0")
        )
        assert err.lines == [
            f"{path}: limits.max_ramp_rate_c_per_min: missing",
            f"{path}: limits: unknown key 'max_ramp_rate' "
            "(did you mean 'max_ramp_rate_c_per_min'?)",
        ]

    def test_unknown_key_in_a_segment(self, tmp_path: Path) -> None:
        """An unknown key inside a segment names the segment index and lists the allowed keys."""
        err, path = load_error(tmp_path, edit("band_c = 3.0", "band_c = 3.0\nramp_rat = 2"))
        line = only_line(err)
        assert line.startswith(f"{path}: segments[1]: unknown key 'ramp_rat'")
        assert "duration_min" in line

    def test_top_level_key_written_after_a_table(self, tmp_path: Path) -> None:
        """A top-level key placed after a [table] gets a hint about TOML's table scoping."""
        text = edit('on_excursion = "hold_at_end"\n', "") + 'on_excursion = "abort"\n'
        err, path = load_error(tmp_path, text)
        assert err.lines == [
            f"{path}: on_excursion: missing",
            f"{path}: segments[1]: unknown key 'on_excursion' "
            "(top-level keys go before the first [table] header)",
        ]

    def test_missing_key(self, tmp_path: Path) -> None:
        """A required key that is absent is named by its full path."""
        err, path = load_error(tmp_path, edit("band_c = 3.0\n", ""))
        assert only_line(err) == f"{path}: segments[1].band_c: missing"

    def test_missing_table(self, tmp_path: Path) -> None:
        """A required table that is absent is named."""
        text = edit(
            "[atmosphere]\no2_ppm_max = 100.0\nn2_flow_min_lpm = 20.0\nn2_setpoint_lpm = 50.0\n", ""
        )
        err, path = load_error(tmp_path, text)
        assert only_line(err) == f"{path}: atmosphere: missing"

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            (
                "rate_c_per_min = 2.5",
                'rate_c_per_min = "fast"',
                'segments[0].rate_c_per_min = "fast": must be a number, got a string',
            ),
            (
                "rate_c_per_min = 2.5",
                "rate_c_per_min = true",
                "segments[0].rate_c_per_min = true: must be a number, got a boolean",
            ),
            (
                "version = 1",
                "version = 1.5",
                "recipe.version = 1.5: must be an integer, got a float",
            ),
            (
                "band_c = 3.0",
                'band_c = 3.0\nguaranteed = "yes"',
                'segments[1].guaranteed = "yes": must be true or false, got a string',
            ),
            (
                "o2_ppm_max = 100.0",
                "o2_ppm_max = nan",
                "atmosphere.o2_ppm_max = nan: must be a finite number",
            ),
            (
                "duration_min = 240.0",
                "duration_min = inf",
                "segments[1].duration_min = inf: must be a finite number",
            ),
        ],
        ids=[
            "string-for-number",
            "bool-for-number",
            "float-for-int",
            "string-for-bool",
            "nan",
            "inf",
        ],
    )
    def test_wrong_type_is_not_coerced(
        self, tmp_path: Path, old: str, new: str, expected: str
    ) -> None:
        """A value of the wrong TOML type is refused, never silently converted."""
        err, path = load_error(tmp_path, edit(old, new))
        assert only_line(err) == f"{path}: {expected}"

    def test_value_above_a_schema_bound(self, tmp_path: Path) -> None:
        """A target above the schema's 450 °C ceiling names the bound."""
        err, path = load_error(tmp_path, edit("target_c = 175.0\nrate", "target_c = 500.0\nrate"))
        assert only_line(err) == f"{path}: segments[0].target_c = 500: must be <= 450"

    def test_toml_syntax_error_names_line_and_column(self, tmp_path: Path) -> None:
        """Broken TOML is reported as file:line:column, the line being the broken one."""
        text = edit("target_c = 175.0\nrate", "target_c = \nrate")
        lineno = text.splitlines().index("target_c = ") + 1
        err, path = load_error(tmp_path, text)
        assert only_line(err) == f"{path}:{lineno}:12: invalid TOML: Invalid value"

    def test_unterminated_string_at_end_of_file(self, tmp_path: Path) -> None:
        """A syntax error at the end of the document still gets a line number."""
        text = GOOD + 'note = "abc\n'
        err, path = load_error(tmp_path, text)
        line = only_line(err)
        assert line.startswith(f"{path}:{len(text.splitlines())}:")
        assert "invalid TOML" in line

    def test_wrong_recipe_kind(self, tmp_path: Path) -> None:
        """A recipe of another kind (e.g. a press recipe) is refused by the oven loader."""
        err, path = load_error(tmp_path, edit('kind = "oven"', 'kind = "press"'))
        assert only_line(err) == f"{path}: recipe.kind = \"press\": must be 'oven'"

    def test_wrong_segment_kind(self, tmp_path: Path) -> None:
        """An unknown segment kind names the segment and the kinds that exist."""
        err, path = load_error(tmp_path, edit('kind = "soak"', 'kind = "hold"'))
        assert only_line(err) == (
            f"{path}: segments[1].kind: unknown kind \"hold\": must be one of 'ramp', 'soak'"
        )

    def test_segment_without_kind(self, tmp_path: Path) -> None:
        """A segment without `kind` says which kinds it could be."""
        err, path = load_error(tmp_path, edit('kind = "soak"\n', ""))
        assert only_line(err) == f"{path}: segments[1].kind: missing (one of 'ramp', 'soak')"

    def test_unknown_excursion_policy(self, tmp_path: Path) -> None:
        """on_excursion must be one of the three policies."""
        err, path = load_error(tmp_path, edit('"hold_at_end"', '"pause"'))
        assert only_line(err) == (
            f"{path}: on_excursion = \"pause\": must be one of 'alarm', 'hold_at_end' or 'abort'"
        )

    def test_soak_must_hold_the_previous_target(self, tmp_path: Path) -> None:
        """A soak at a temperature the previous segment did not reach (a step) is refused."""
        err, path = load_error(
            tmp_path, edit("target_c = 175.0\nduration", "target_c = 180.0\nduration")
        )
        assert only_line(err) == (
            f"{path}: segments[1].target_c = 180: must equal segments[0].target_c = 175 "
            "(a soak holds the temperature the previous segment reached)"
        )

    def test_n2_setpoint_below_its_alarm_minimum(self, tmp_path: Path) -> None:
        """An N2 setpoint below n2_flow_min_lpm (a permanent excursion) is refused."""
        err, path = load_error(tmp_path, edit("n2_setpoint_lpm = 50.0", "n2_setpoint_lpm = 5.0"))
        assert only_line(err) == (
            f"{path}: atmosphere.n2_setpoint_lpm = 5: must be >= 20 (atmosphere.n2_flow_min_lpm)"
        )

    def test_every_problem_gets_its_own_line(self, tmp_path: Path) -> None:
        """Several problems are all reported, one line each, each naming the file."""
        text = edit("version = 1", "version = 0")
        text = edit("duration_min = 240.0", "duration_min = -1", text)
        text = edit("band_c = 10.0", "band_c = 10.0\nextra = 1", text)
        err, path = load_error(tmp_path, text)
        assert err.lines == [
            f"{path}: recipe.version = 0: must be >= 1",
            f"{path}: segments[0]: unknown key 'extra' (allowed: kind, target_c, "
            "rate_c_per_min, band_c)",
            f"{path}: segments[1].duration_min = -1: must be > 0",
        ]
        assert str(err) == "\n".join(err.lines)

    def test_message_is_not_pydantic_output(self, tmp_path: Path) -> None:
        """The message is ours: no pydantic headers, 'Input should' phrasing or URLs."""
        err, _ = load_error(tmp_path, edit("rate_c_per_min = 2.5", 'rate_c_per_min = "x"'))
        for raw in ("validation error", "Input should", "pydantic.dev", "type="):
            assert raw not in str(err)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that does not exist is a RecipeError naming the file, not an OSError."""
        path = tmp_path / "nope.toml"
        with pytest.raises(RecipeError) as info:
            load_oven_recipe(path)
        assert only_line(info.value) == f"{path}: cannot read: No such file or directory"

    def test_file_that_is_not_utf8(self, tmp_path: Path) -> None:
        """Bytes that are not UTF-8 are refused with the file's name."""
        path = tmp_path / "latin1.toml"
        path.write_bytes(GOOD.replace("test-oven", "four-\xe0").encode("latin-1"))
        with pytest.raises(RecipeError) as info:
            load_oven_recipe(path)
        assert only_line(info.value).startswith(f"{path}: not UTF-8 text")

    def test_parse_names_the_given_source(self) -> None:
        """parse_oven_recipe puts its `source` argument where a file name would be."""
        with pytest.raises(RecipeError) as info:
            parse_oven_recipe(edit("version = 1", "version = 0"), "upload #7")
        assert only_line(info.value) == "upload #7: recipe.version = 0: must be >= 1"

    def test_recipe_error_is_a_value_error_that_pickles(self) -> None:
        """RecipeError is a ValueError and survives pickling with its problems intact."""
        with pytest.raises(ValueError, match="must be >= 1") as info:
            parse_oven_recipe(edit("version = 1", "version = 0"), "x.toml")
        assert isinstance(info.value, RecipeError)
        copy = pickle.loads(pickle.dumps(info.value))
        assert copy.lines == info.value.lines


class TestToolCapability:
    @pytest.fixture
    def recipe(self) -> OvenRecipe:
        return parse_oven_recipe(GOOD, "good.toml")

    def test_ramp_faster_than_the_tool(self, recipe: OvenRecipe) -> None:
        """A ramp above the tool's maximum rate names the segment field and the tool's limit."""
        with pytest.raises(RecipeError) as info:
            check_against_tool(recipe, max_ramp_c_per_min=2.0, max_temp_c=450.0)
        assert only_line(info.value) == (
            "test-oven v1: segments[0].rate_c_per_min = 2.5: exceeds the tool's maximum 2 °C/min"
        )

    def test_target_hotter_than_the_tool(self, recipe: OvenRecipe) -> None:
        """Every segment whose target exceeds the tool's maximum temperature is listed."""
        with pytest.raises(RecipeError) as info:
            check_against_tool(recipe, max_ramp_c_per_min=10, max_temp_c=150, source="r.toml")
        assert info.value.lines == [
            "r.toml: segments[0].target_c = 175: exceeds the tool's maximum 150 °C",
            "r.toml: segments[1].target_c = 175: exceeds the tool's maximum 150 °C",
        ]

    def test_a_capable_tool_passes(self, recipe: OvenRecipe) -> None:
        """Limits equal to the recipe's own rate and target are enough."""
        check_against_tool(recipe, max_ramp_c_per_min=2.5, max_temp_c=175.0)
