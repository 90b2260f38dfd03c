"""Building blocks shared by the recipe and material schemas."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from recipes.errors import RULE_ERROR, show_value

# A recipe or material name: what a run records, and (for materials) the file stem.
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]


class Strict(BaseModel):
    """Base for recipe models: unknown keys are errors, values are immutable.

    `strict`: a TOML string or boolean is never coerced to a number (lax
    pydantic would read `rate_c_per_min = true` as 1.0). `allow_inf_nan`
    off: TOML's `inf` and `nan` are not temperatures, rates or durations.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def rule_error(problems: list[dict[str, Any]]) -> PydanticCustomError:
    """A cross-field rule failure; `explain` turns each problem into its own line.

    Each problem is a dict with `path` (relative to the model that raises),
    `value` (as written) and `expect` (the limit, in words).
    """
    detail = "; ".join(f"{p['path']} = {show_value(p['value'])}: {p['expect']}" for p in problems)
    return PydanticCustomError(RULE_ERROR, "{detail}", {"detail": detail, "problems": problems})
