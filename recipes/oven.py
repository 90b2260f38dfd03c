"""Schema of an oven ramp-profile recipe (`recipes/library/*.toml`, kind = "oven")."""

from __future__ import annotations

import enum
import math
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from recipes.errors import show_value
from recipes.schema import Name, Strict
from recipes.schema import rule_error as _rule_error


class ExcursionAction(enum.StrEnum):
    """What the engine does when a sample leaves its band."""

    ALARM = "alarm"  # raise an alarm, the lot tracks out normally
    HOLD_AT_END = "hold_at_end"  # let the program finish, then hold the lot
    ABORT = "abort"  # abort the program now and hold the lot


Temperature = Annotated[float, Field(ge=0, le=450, description="°C")]
Band = Annotated[
    float,
    Field(gt=0, le=50, description="°C: every zone within ±band of the programmed setpoint"),
]


class RampSegment(Strict):
    """Ramp the setpoint to `target_c` at `rate_c_per_min`.

    The ramp starts at the previous segment's target (the oven's start
    temperature for the first segment) and lasts |Δ| / rate minutes.
    """

    kind: Literal["ramp"]
    target_c: Temperature
    rate_c_per_min: Annotated[float, Field(gt=0, description="°C/min, up or down")]
    band_c: Band


class SoakSegment(Strict):
    """Hold the setpoint at `target_c` for `duration_min`."""

    kind: Literal["soak"]
    target_c: Temperature
    duration_min: Annotated[float, Field(gt=0, description="min of program time")]
    band_c: Band
    guaranteed: bool = Field(
        default=True, description="soak time counts only while every zone is inside the band"
    )


Segment = Annotated[RampSegment | SoakSegment, Field(discriminator="kind")]


class Limits(Strict):
    """Whole-run limits."""

    max_ramp_rate_c_per_min: Annotated[
        float, Field(gt=0, description="°C/min; bounds every ramp segment and the measured rate")
    ]
    ramp_rate_window_s: Annotated[
        float, Field(gt=0, description="s over which the measured ramp rate is averaged")
    ] = 120.0
    start_temp_max_c: Annotated[
        float, Field(ge=0, description="°C; the oven must be at or below this to start")
    ] = 60.0


class Atmosphere(Strict):
    """Chamber atmosphere limits, enforced for the whole run."""

    o2_ppm_max: Annotated[float, Field(gt=0, description="ppm O2, alarm above")]
    n2_flow_min_lpm: Annotated[float, Field(ge=0, description="L/min N2, alarm below")]
    n2_setpoint_lpm: Annotated[float, Field(ge=0, le=200, description="L/min N2 programmed")]

    @model_validator(mode="after")
    def _setpoint_above_alarm(self) -> Atmosphere:
        # A setpoint below the alarm minimum would be an excursion at every sample.
        if self.n2_setpoint_lpm < self.n2_flow_min_lpm:
            expect = f"must be >= {show_value(self.n2_flow_min_lpm)} (atmosphere.n2_flow_min_lpm)"
            raise _rule_error(
                [{"path": "n2_setpoint_lpm", "value": self.n2_setpoint_lpm, "expect": expect}]
            )
        return self


class Completion(Strict):
    """What a run must achieve to track out."""

    soak_shortfall_max_min: Annotated[
        float, Field(ge=0, description="min of guaranteed soak that may be missing")
    ] = 0.0
    end_temp_max_c: Annotated[
        float, Field(ge=0, description="°C; every zone at or below this at the end")
    ] = 60.0


class Header(Strict):
    """Identity of the recipe: name and version are what a run records."""

    name: Name
    version: Annotated[int, Field(ge=1)]
    kind: Literal["oven"]
    description: str = ""


class OvenRecipe(Strict):
    """A cure-oven ramp profile with its enforcement rules."""

    recipe: Header
    limits: Limits
    atmosphere: Atmosphere
    # Not strict: TOML spells the action as a string, strict mode wants the enum.
    on_excursion: ExcursionAction = Field(strict=False)
    completion: Completion = Completion()
    segments: Annotated[list[Segment], Field(min_length=1, max_length=16)]

    @field_validator("segments")
    @classmethod
    def _segments_consistent(
        cls, segments: list[RampSegment | SoakSegment], info: ValidationInfo
    ) -> list[RampSegment | SoakSegment]:
        # `limits` is validated before `segments` (field order); if it failed,
        # its own error is reported and the rate check is skipped.
        limits = info.data.get("limits")
        problems: list[dict[str, Any]] = []
        for i, seg in enumerate(segments):
            if (
                isinstance(seg, RampSegment)
                and isinstance(limits, Limits)
                and seg.rate_c_per_min > limits.max_ramp_rate_c_per_min
            ):
                limit = show_value(limits.max_ramp_rate_c_per_min)
                problems.append(
                    {
                        "path": f"[{i}].rate_c_per_min",
                        "value": seg.rate_c_per_min,
                        "expect": f"must be <= {limit} (limits.max_ramp_rate_c_per_min)",
                    }
                )
            # A soak holds what the previous segment reached; a different
            # target would be a setpoint step, i.e. an unbounded ramp rate.
            if (
                isinstance(seg, SoakSegment)
                and i > 0
                and not math.isclose(seg.target_c, segments[i - 1].target_c, abs_tol=1e-9)
            ):
                prev = show_value(segments[i - 1].target_c)
                problems.append(
                    {
                        "path": f"[{i}].target_c",
                        "value": seg.target_c,
                        "expect": f"must equal segments[{i - 1}].target_c = {prev} "
                        "(a soak holds the temperature the previous segment reached)",
                    }
                )
        if problems:
            raise _rule_error(problems)
        return segments

    @property
    def name(self) -> str:
        return self.recipe.name

    @property
    def version(self) -> int:
        return self.recipe.version
