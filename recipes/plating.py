"""Schema of a Cu RDL electroplating recipe (`recipes/library/*.toml`, kind = "plating").

A plating recipe programs the rectifier as a sequence of current-density
steps (a low-current strike, then the bulk deposit), names the plated area
that turns a density into a current, sets the bands the engine enforces
(measured current against set-point, cell voltage, bath temperature), the
thickness target, and the current efficiency η the process model starts from
and the bounds within which metrology may move it (DOMAIN.md, "Plating tool
(Cu RDL)"; the model is `recipes.faraday`).

Step semantics: each step lasts `duration_s`; during its first `ramp_s`
seconds (part of `duration_s`) the set-point goes linearly from the previous
step's density (0 before the first step) to its own.

The recipe is checked against its own target: the programmed charge at the
recipe's η must give the target thickness within the tolerance.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from recipes.errors import Problem, RecipeError, show_value
from recipes.faraday import expected_thickness_um, programmed_charge_c
from recipes.oven import ExcursionAction
from recipes.schema import Name, Strict, rule_error
from recipes.source import parse_toml, read_text, validate

MAX_CURRENT_DENSITY_ASD = 20.0  # A/dm²; via fill runs at ~5 (DOMAIN.md)
WAFER_300MM_AREA_DM2 = 7.07  # π·(1.5 dm)²: a 300 mm wafer's whole face


class PlatingHeader(Strict):
    """Identity of the recipe: name and version are what a run records."""

    name: Name
    version: Annotated[int, Field(ge=1)]
    kind: Literal["plating"]
    description: str = ""


class PlatingStep(Strict):
    """Constant current density for `duration_s`, reached by a linear ramp of `ramp_s`."""

    current_density_asd: Annotated[
        float, Field(gt=0, le=MAX_CURRENT_DENSITY_ASD, description="A/dm² set-point")
    ]
    duration_s: Annotated[float, Field(gt=0, le=86400, description="s, ramp included")]
    ramp_s: Annotated[float, Field(ge=0, description="s from the previous density to this one")] = (
        0.0
    )

    @model_validator(mode="after")
    def _ramp_within_step(self) -> PlatingStep:
        if self.ramp_s > self.duration_s:
            expect = (
                f"must be <= {show_value(self.duration_s)} (duration_s: the ramp is part of it)"
            )
            raise rule_error([{"path": "ramp_s", "value": self.ramp_s, "expect": expect}])
        return self


class Wafer(Strict):
    """The copper area exposed through the resist: it turns A/dm² into amperes."""

    plated_area_dm2: Annotated[
        float,
        Field(gt=0, le=WAFER_300MM_AREA_DM2, description="dm², at most a 300 mm wafer's face"),
    ]


class PlatingBands(Strict):
    """What the engine enforces while plating."""

    current_pct: Annotated[
        float, Field(gt=0, le=50, description="% deviation of measured current from set-point")
    ]
    voltage_min_v: Annotated[float, Field(ge=0, le=50, description="V, cell voltage alarm below")]
    voltage_max_v: Annotated[float, Field(gt=0, le=50, description="V, cell voltage alarm above")]
    bath_temp_c: Annotated[float, Field(gt=0, le=60, description="°C, bath set-point")]
    bath_temp_band_c: Annotated[
        float, Field(gt=0, le=20, description="°C: bath within ±band of bath_temp_c")
    ]

    @model_validator(mode="after")
    def _voltage_window(self) -> PlatingBands:
        if self.voltage_min_v >= self.voltage_max_v:
            expect = f"must be < {show_value(self.voltage_max_v)} (bands.voltage_max_v)"
            raise rule_error(
                [{"path": "voltage_min_v", "value": self.voltage_min_v, "expect": expect}]
            )
        return self


class PlatingTarget(Strict):
    """Cu thickness a wafer must reach, as measured by metrology."""

    thickness_um: Annotated[float, Field(gt=0, le=100, description="µm")]
    tolerance_pct: Annotated[float, Field(gt=0, le=50, description="± % of thickness_um")]


class Efficiency(Strict):
    """Current efficiency η: where the model starts, and where metrology may move it."""

    eta: Annotated[float, Field(ge=0.5, le=1.0, description="initial η")]
    eta_min: Annotated[float, Field(gt=0, le=1.0, description="lowest learned η")]
    eta_max: Annotated[float, Field(gt=0, le=1.0, description="highest learned η")]
    eta_window: Annotated[
        int, Field(ge=1, le=1000, description="metrology results in the moving average")
    ]

    @model_validator(mode="after")
    def _eta_within_bounds(self) -> Efficiency:
        problems: list[dict[str, Any]] = []
        if self.eta_min > self.eta_max:
            expect = f"must be <= {show_value(self.eta_max)} (efficiency.eta_max)"
            problems.append({"path": "eta_min", "value": self.eta_min, "expect": expect})
        elif not self.eta_min <= self.eta <= self.eta_max:
            lo, hi = show_value(self.eta_min), show_value(self.eta_max)
            expect = f"must be within [{lo}, {hi}] (efficiency.eta_min .. efficiency.eta_max)"
            problems.append({"path": "eta", "value": self.eta, "expect": expect})
        if problems:
            raise rule_error(problems)
        return self


class PlatingRecipe(Strict):
    """A Cu electroplating program with its bands, target and efficiency model."""

    recipe: PlatingHeader
    # Not strict: TOML spells the action as a string, strict mode wants the enum.
    on_excursion: ExcursionAction = Field(strict=False)
    steps: Annotated[list[PlatingStep], Field(min_length=1, max_length=16)]
    wafer: Wafer
    bands: PlatingBands
    target: PlatingTarget
    efficiency: Efficiency

    @model_validator(mode="after")
    def _steps_reach_the_target(self) -> PlatingRecipe:
        expected = expected_thickness_um(self)
        want, tol = self.target.thickness_um, self.target.tolerance_pct
        if abs(expected - want) > want * tol / 100:
            charge = programmed_charge_c(self)
            expect = (
                f"the steps give {expected:.3g} µm at efficiency.eta = "
                f"{show_value(self.efficiency.eta)} ({charge:.4g} C on "
                f"{show_value(self.wafer.plated_area_dm2)} dm²): must be within "
                f"± {show_value(tol)} % (target.tolerance_pct); change steps or the target"
            )
            raise rule_error([{"path": "target.thickness_um", "value": want, "expect": expect}])
        return self

    @property
    def name(self) -> str:
        return self.recipe.name

    @property
    def version(self) -> int:
        return self.recipe.version


def parse_plating_recipe(text: str, source: str = "<string>") -> PlatingRecipe:
    """Parse and validate plating recipe TOML; `source` names the text in error messages.

    Raises `RecipeError` listing every problem, one per line.
    """
    data = parse_toml(text, source)
    header = data.get("recipe")
    kind = header.get("kind") if isinstance(header, dict) else None
    if kind in ("oven", "muf"):  # one clear line instead of every key the kinds differ in
        what = "an oven" if kind == "oven" else "a MUF"
        message = (
            f"must be 'plating' (this is {what} recipe; recipes.loader.parse_recipe reads all)"
        )
        raise RecipeError(source, [Problem("recipe.kind", message, show_value(kind))])
    return validate(PlatingRecipe, data, source)


def load_plating_recipe(path: str | os.PathLike[str]) -> PlatingRecipe:
    """Read and validate the plating recipe file at `path` (UTF-8 TOML)."""
    return parse_plating_recipe(read_text(path), os.fspath(path))
