"""Tool qualification: which tool may run which route step, and with which recipe.

A qualification names a step as the route does ("PMC", "RDL1.PI_CURE") or, for a
step of a repeated block, without the layer prefix ("PI_CURE" covers RDL1.PI_CURE
and RDL2.PI_CURE: one oven qualified for the polyimide cure runs it on every layer).
Without a recipe it covers any recipe of the step. A tool with no qualification for
a step may not run it: track-in refuses.
"""

from __future__ import annotations


def covering_steps(step: str) -> tuple[str, ...]:
    """The qualification step names that cover route step `step`."""
    _, dot, base = step.partition(".")
    return (step, base) if dot and base else (step,)


def scope(step: str, recipe: str | None) -> str:
    """'step S (recipe R)' or 'step S (any recipe)', for messages."""
    return f"step {step} ({f'recipe {recipe}' if recipe else 'any recipe'})"


def not_qualified(tool_id: str, step: str, recipe: str) -> str:
    """The refusal at track-in: what is missing and who fixes it, how."""
    return (
        f"tool {tool_id} is not qualified for step {step} (recipe {recipe}); "
        f"an engineer qualifies it with 'pkgline tool qualify {tool_id} {step}'"
    )
