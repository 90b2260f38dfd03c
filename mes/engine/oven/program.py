"""Translate an oven recipe into the program the oven's controller executes."""

from __future__ import annotations

from drivers.core.oven import OvenProgramSegment, SegmentKind
from recipes.oven import OvenRecipe, RampSegment


def to_program(recipe: OvenRecipe) -> list[OvenProgramSegment]:
    out = []
    for seg in recipe.segments:
        if isinstance(seg, RampSegment):
            out.append(OvenProgramSegment(SegmentKind.RAMP, seg.target_c, seg.rate_c_per_min, 0.0))
        else:
            out.append(
                OvenProgramSegment(SegmentKind.SOAK, seg.target_c, 0.0, seg.duration_min * 60)
            )
    return out
