"""Schema of a molded-underfill (MUF) cure-cycle recipe (`recipes/library/*.toml`, kind = "muf").

A MUF recipe programs the molding press (mold temperature, clamp force,
transfer pressure, fill and in-mold cure time), names the molding compound
whose kinetics the engine integrates, and sets the degree-of-cure targets:
one after molding, one after the post-mold cure (PMC) in the linked oven
recipe, which must start within the queue-time limit.

`material` names the molding compound: `material = "emc-g700"` refers to
`recipes/materials/emc-g700.toml`. The recipe keeps the name; parsing a
recipe reads no other file, so the same text parses the same way wherever it
is stored (a file, the MES database). `material_for` resolves the name and
reports a missing or bad material file against the recipe's `material` line.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from recipes.errors import Problem, RecipeError, show_value
from recipes.materials import Material, library_materials, load_material, material_path
from recipes.oven import ExcursionAction
from recipes.schema import Name, Strict, rule_error
from recipes.source import parse_toml, read_text, validate

Fraction = Annotated[float, Field(gt=0, lt=1, description="degree of cure α")]


class MufHeader(Strict):
    """Identity of the recipe: name and version are what a run records."""

    name: Name
    version: Annotated[int, Field(ge=1)]
    kind: Literal["muf"]
    description: str = ""


class Mold(Strict):
    """Chase temperature: the top and bottom platens are both held at it."""

    temperature_c: Annotated[float, Field(gt=0, le=250, description="°C, both platens")]
    band_c: Annotated[
        float, Field(gt=0, le=50, description="°C: each platen within ±band of temperature_c")
    ]


class Clamp(Strict):
    """Clamp force that keeps the mold closed against the transfer pressure."""

    force_kn: Annotated[float, Field(gt=0, le=10000, description="kN")]
    band_kn: Annotated[float, Field(gt=0, description="kN: force within ±band while clamped")]

    @model_validator(mode="after")
    def _band_below_force(self) -> Clamp:
        # A band as wide as the force would accept an open mold.
        if self.band_kn >= self.force_kn:
            expect = f"must be < {show_value(self.force_kn)} (clamp.force_kn)"
            raise rule_error([{"path": "band_kn", "value": self.band_kn, "expect": expect}])
        return self


class Transfer(Strict):
    """Transfer (packing) pressure, held from the fill through the in-mold cure."""

    pressure_mpa: Annotated[float, Field(gt=0, le=50, description="MPa")]
    band_mpa: Annotated[float, Field(gt=0, description="MPa: pressure within ±band")]
    fill_time_s: Annotated[float, Field(gt=0, le=120, description="s to fill the cavity")]
    cure_time_s: Annotated[float, Field(gt=0, le=1800, description="s of in-mold cure")]

    @model_validator(mode="after")
    def _consistent(self) -> Transfer:
        problems: list[dict[str, Any]] = []
        if self.band_mpa >= self.pressure_mpa:
            expect = f"must be < {show_value(self.pressure_mpa)} (transfer.pressure_mpa)"
            problems.append({"path": "band_mpa", "value": self.band_mpa, "expect": expect})
        # The cavity fills before the compound gels; a fill that takes as long
        # as the cure is a short shot, not a recipe.
        if self.fill_time_s >= self.cure_time_s:
            expect = f"must be < {show_value(self.cure_time_s)} (transfer.cure_time_s)"
            problems.append({"path": "fill_time_s", "value": self.fill_time_s, "expect": expect})
        if problems:
            raise rule_error(problems)
        return self


class Targets(Strict):
    """Degree of cure a lot must reach, checked at molding end and after PMC."""

    alpha_after_mold: Fraction
    alpha_after_pmc: Fraction

    @model_validator(mode="after")
    def _pmc_not_below_mold(self) -> Targets:
        if self.alpha_after_pmc < self.alpha_after_mold:
            expect = f"must be >= {show_value(self.alpha_after_mold)} (targets.alpha_after_mold)"
            raise rule_error(
                [{"path": "alpha_after_pmc", "value": self.alpha_after_pmc, "expect": expect}]
            )
        return self


class MufRecipe(Strict):
    """A molding-press cure cycle with its material, targets and enforcement rules."""

    recipe: MufHeader
    material: Annotated[Name, Field(description="material file name, without .toml")]
    pmc_recipe: Annotated[Name, Field(description="name of the oven recipe for the PMC")]
    qtime_to_pmc_h: Annotated[
        float, Field(gt=0, le=168, description="h from molding end to PMC start, at most")
    ]
    # Not strict: TOML spells the action as a string, strict mode wants the enum.
    on_excursion: ExcursionAction = Field(strict=False)
    mold: Mold
    clamp: Clamp
    transfer: Transfer
    targets: Targets

    @property
    def name(self) -> str:
        return self.recipe.name

    @property
    def version(self) -> int:
        return self.recipe.version


def parse_muf_recipe(text: str, source: str = "<string>") -> MufRecipe:
    """Parse and validate MUF recipe TOML; `source` names the text in error messages.

    Raises `RecipeError` listing every problem, one per line. The material is
    not read (see `material_for`).
    """
    data = parse_toml(text, source)
    header = data.get("recipe")
    kind = header.get("kind") if isinstance(header, dict) else None
    if kind in ("oven", "plating"):  # one clear line instead of every key the kinds differ in
        what = "an oven" if kind == "oven" else "a plating"
        message = f"must be 'muf' (this is {what} recipe; recipes.loader.parse_recipe reads all)"
        raise RecipeError(source, [Problem("recipe.kind", message, show_value(kind))])
    return validate(MufRecipe, data, source)


def load_muf_recipe(path: str | os.PathLike[str]) -> MufRecipe:
    """Read and validate the MUF recipe file at `path` (UTF-8 TOML); see `parse_muf_recipe`."""
    return parse_muf_recipe(read_text(path), os.fspath(path))


def material_for(
    recipe: MufRecipe,
    source: str | None = None,
    *,
    materials_dir: str | os.PathLike[str] | None = None,
) -> Material:
    """The material `recipe` names, read from `<materials_dir>/<name>.toml`.

    `materials_dir` defaults to the shipped `recipes/materials/`. A missing
    file, a bad one, or one whose `name` is not its file name raises
    `RecipeError` named `source` (default "<name> v<version>"), each line on
    the recipe's `material` field and quoting the material file's own problem.
    """
    where = source or f"{recipe.name} v{recipe.version}"
    path = material_path(recipe.material, materials_dir)
    shown = show_value(recipe.material)
    if not path.is_file():
        known = ", ".join(p.stem for p in library_materials(path.parent)) or "none"
        message = f"no material file {path} (materials there: {known})"
        raise RecipeError(where, [Problem("material", message, shown)])
    try:
        material = load_material(path)
    except RecipeError as exc:
        raise RecipeError(where, [Problem("material", line, shown) for line in exc.lines]) from None
    if material.name != recipe.material:
        message = f"{path}: name = {show_value(material.name)}: must be {shown} (the file name)"
        raise RecipeError(where, [Problem("material", message, shown)])
    return material
