"""Recipes as text for a terminal: the setpoint profile as a character plot, and a summary.

These back `pkgline recipe show FILE`. Plain characters only (plus °), so the
output survives SSH sessions, logs and copy-paste.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from recipes.cure import isothermal_alpha, tg_c
from recipes.errors import show_value
from recipes.faraday import (
    current_a,
    expected_thickness_um,
    programmed_charge_c,
    programmed_duration_s,
)
from recipes.materials import Material
from recipes.muf import MufRecipe
from recipes.oven import ExcursionAction, OvenRecipe, RampSegment
from recipes.plating import PlatingRecipe
from recipes.profile import expand, segment_windows, setpoint_at

MIN_WIDTH = 24
MIN_HEIGHT = 6

_POLICY = {
    ExcursionAction.ALARM: "raise an alarm; the lot tracks out normally",
    ExcursionAction.HOLD_AT_END: "let the program finish, then hold the lot",
    ExcursionAction.ABORT: "abort the program now and hold the lot",
}


def render_profile(
    recipe: OvenRecipe, width: int = 72, height: int = 16, start_c: float = 25.0
) -> str:
    """Draw the setpoint profile in exactly `height` lines of exactly `width` characters.

    Layout: a header line (°C, segment numbers `#i` over their windows), the
    plot (`*` the setpoint, `:` segment boundaries, °C labels on the left
    axis), the time axis, and hour labels (unit `h` in the margin).
    """
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ValueError(f"plot needs width >= {MIN_WIDTH} and height >= {MIN_HEIGHT}")
    points = expand(recipe, start_c)
    windows = segment_windows(recipe, start_c)
    total_s = points[-1].t_s or 1.0  # a program of empty ramps still gets an axis
    plot_h = height - 3

    temps = [p.setpoint_c for p in points]
    pad = (max(temps) - min(temps) or 10.0) * 0.05  # keep the curve off the frame
    y_lo, y_hi = min(temps) - pad, max(temps) + pad
    y_step = _nice_step(y_hi - y_lo, max(2, plot_h // 2))
    first = math.ceil(y_lo / y_step)
    y_ticks = [k * y_step for k in range(first, math.floor(y_hi / y_step) + 1)]
    lw = max([2, *(len(_fmt(v)) for v in y_ticks)])  # label width; "°C" needs 2
    plot_w = width - lw - 2  # "label" + " " + axis

    def row(temp_c: float) -> int:
        return round((y_hi - temp_c) / (y_hi - y_lo) * (plot_h - 1))

    def col(t_s: float) -> int:
        return min(plot_w - 1, int(t_s / total_s * plot_w))

    grid = [[" "] * plot_w for _ in range(plot_h)]
    for _, end in windows[:-1]:
        for r in range(plot_h):
            grid[r][col(end)] = ":"
    for c in range(plot_w):
        # The setpoint is piecewise linear: its extremes over a column are at
        # the column's edges or at breakpoints inside it.
        t0, t1 = c * total_s / plot_w, min((c + 1) * total_s / plot_w, points[-1].t_s)
        vals = [setpoint_at(recipe, t, start_c) for t in (t0, t1)]
        vals += [p.setpoint_c for p in points if t0 < p.t_s < t1]
        for r in range(row(max(vals)), row(min(vals)) + 1):
            grid[r][c] = "*"

    labels = {row(v): _fmt(v) for v in reversed(y_ticks)}
    lines = [f"{'°C':>{lw}}  " + _segment_labels(windows, col, plot_w)]
    for r in range(plot_h):
        axis = "+" if r in labels else "|"
        lines.append(f"{labels.get(r, ''):>{lw}} {axis}" + "".join(grid[r]))

    total_h = total_s / 3600
    x_step = _nice_step(total_h, max(2, plot_w // 6))
    x_ticks = [k * x_step for k in range(int(total_h / x_step + 1e-9) + 1)]
    axis_cells = ["-"] * plot_w
    tick_cells = [" "] * plot_w
    free_from = 0
    for h in x_ticks:
        c = col(h * 3600)
        if c > 0:  # the corner already marks 0
            axis_cells[c] = "+"
        text = _fmt(h)
        if c >= free_from and c + len(text) <= plot_w:
            tick_cells[c : c + len(text)] = text
            free_from = c + len(text) + 1
    lines.append(f"{'':>{lw}} +" + "".join(axis_cells))
    lines.append(f"{'h':>{lw}}  " + "".join(tick_cells))
    return "\n".join(line.ljust(width)[:width] for line in lines)


def describe(
    recipe: OvenRecipe | MufRecipe | PlatingRecipe,
    start_c: float = 25.0,
    *,
    material: Material | None = None,
) -> str:
    """A readable summary: segments table, limits, atmosphere, policy, completion, duration.

    Ramp durations depend on where the oven starts; they are computed from `start_c`.
    A MUF recipe is summarized by `describe_muf` (with `material`; `start_c` does not apply),
    a plating recipe by `describe_plating`.
    """
    if isinstance(recipe, MufRecipe):
        return describe_muf(recipe, material)
    if isinstance(recipe, PlatingRecipe):
        return describe_plating(recipe)
    windows = segment_windows(recipe, start_c)
    rows = []
    for i, (seg, (t0, t1)) in enumerate(zip(recipe.segments, windows, strict=True)):
        if isinstance(seg, RampSegment):
            rate, guaranteed = _fmt(seg.rate_c_per_min), "-"
        else:
            rate, guaranteed = "-", "yes" if seg.guaranteed else "no"
        duration = _fmt((t1 - t0) / 60)
        rows.append(
            [str(i), seg.kind, _fmt(seg.target_c), rate, duration, _fmt(seg.band_c), guaranteed]
        )
    head = ["#", "kind", "target °C", "rate °C/min", "duration min", "band ±°C", "guaranteed"]
    lim, atm, done = recipe.limits, recipe.atmosphere, recipe.completion
    total_min = windows[-1][1] / 60
    lines = [f"{recipe.name} v{recipe.version} (oven recipe)"]
    if recipe.recipe.description:
        lines.append(f"  {recipe.recipe.description}")
    lines.append(f"segments (ramp durations from {_fmt(start_c)} °C):")
    lines += ["  " + line for line in _table(head, rows)]
    lines += [
        f"limits:       ramp rate <= {_fmt(lim.max_ramp_rate_c_per_min)} °C/min "
        f"(measured over {_fmt(lim.ramp_rate_window_s)} s); "
        f"start at <= {_fmt(lim.start_temp_max_c)} °C",
        f"atmosphere:   O2 <= {_fmt(atm.o2_ppm_max)} ppm; N2 flow >= {_fmt(atm.n2_flow_min_lpm)} "
        f"L/min (setpoint {_fmt(atm.n2_setpoint_lpm)} L/min)",
        f"on excursion: {recipe.on_excursion.value} ({_POLICY[recipe.on_excursion]})",
        f"completion:   guaranteed-soak shortfall <= {_fmt(done.soak_shortfall_max_min)} min; "
        f"end temperature <= {_fmt(done.end_temp_max_c)} °C",
        f"total:        {_fmt(total_min)} min ({total_min / 60:.2f} h)",
    ]
    return "\n".join(lines)


def describe_muf(recipe: MufRecipe, material: Material | None = None) -> str:
    """A readable summary of a MUF recipe: material, press settings, targets, PMC link, policy.

    Given the `material` (see `recipes.muf.material_for`), the summary adds the
    model's isothermal α at the mold temperature after fill + cure, from α = 0:
    a plausibility check of the target, not a measurement.
    """
    mold, clamp, tr, tgt = recipe.mold, recipe.clamp, recipe.transfer, recipe.targets
    in_mold_s = tr.fill_time_s + tr.cure_time_s
    if material is None:
        mat_line = f"{recipe.material} (not read)"
        model = ""
    else:
        mat_line = f"{material.name} v{material.version}" + (
            f" ({material.description})" if material.description else ""
        )
        predicted = isothermal_alpha(mold.temperature_c, in_mold_s, material.kinetics)
        verdict = "" if predicted >= tgt.alpha_after_mold else "; BELOW the target"
        model = (
            f" (model: {predicted:.3f} after {_fmt(in_mold_s)} s at "
            f"{_fmt(mold.temperature_c)} °C, Tg {tg_c(predicted, material.kinetics):.0f} °C"
            f"{verdict})"
        )
    lines = [f"{recipe.name} v{recipe.version} (MUF recipe)"]
    if recipe.recipe.description:
        lines.append(f"  {recipe.recipe.description}")
    lines += [
        f"material:     {mat_line}",
        f"mold:         {_fmt(mold.temperature_c)} ± {_fmt(mold.band_c)} °C (top and bottom)",
        f"clamp:        {_fmt(clamp.force_kn)} ± {_fmt(clamp.band_kn)} kN",
        f"transfer:     {_fmt(tr.pressure_mpa)} ± {_fmt(tr.band_mpa)} MPa; "
        f"fill {_fmt(tr.fill_time_s)} s, cure {_fmt(tr.cure_time_s)} s in the mold",
        f"targets:      α >= {_fmt(tgt.alpha_after_mold)} after molding{model}",
        f"              α >= {_fmt(tgt.alpha_after_pmc)} after PMC",
        f"PMC:          oven recipe {recipe.pmc_recipe}, "
        f"to start within {_fmt(recipe.qtime_to_pmc_h)} h of molding end",
        f"on excursion: {recipe.on_excursion.value} ({_POLICY[recipe.on_excursion]})",
    ]
    return "\n".join(lines)


def describe_plating(recipe: PlatingRecipe) -> str:
    """A readable summary of a plating recipe: steps, bands, target, η model, policy.

    The expected thickness is the process model's (`recipes.faraday`) for the
    programmed profile at the recipe's initial η: a plausibility check of the
    target, not a measurement.
    """
    area = recipe.wafer.plated_area_dm2
    head = ["#", "A/dm²", "current A", "duration s", "ramp s"]
    rows = [
        [
            str(i),
            _fmt(step.current_density_asd),
            f"{current_a(step.current_density_asd, area):.3f}",
            _fmt(step.duration_s),
            _fmt(step.ramp_s),
        ]
        for i, step in enumerate(recipe.steps)
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    table = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *rows]]
    b, tgt, eff = recipe.bands, recipe.target, recipe.efficiency
    charge = programmed_charge_c(recipe)
    total_s = programmed_duration_s(recipe)
    expected = expected_thickness_um(recipe)
    lines = [f"{recipe.name} v{recipe.version} (plating recipe)"]
    if recipe.recipe.description:
        lines.append(f"  {recipe.recipe.description}")
    lines.append(f"steps (plated area {_fmt(area)} dm²):")
    lines += ["  " + line for line in table]
    lines += [
        f"bands:        current ± {_fmt(b.current_pct)} % of set-point; "
        f"voltage {_fmt(b.voltage_min_v)}–{_fmt(b.voltage_max_v)} V; "
        f"bath {_fmt(b.bath_temp_c)} ± {_fmt(b.bath_temp_band_c)} °C",
        f"target:       {_fmt(tgt.thickness_um)} µm ± {_fmt(tgt.tolerance_pct)} % "
        f"(model: {expected:.2f} µm at η {_fmt(eff.eta)}; {charge:.0f} C, "
        f"{charge / 3600:.3f} A·h)",
        f"efficiency:   η {_fmt(eff.eta)} to start; learned from metrology as the mean of "
        f"the last {eff.eta_window} result(s), kept within {_fmt(eff.eta_min)}–"
        f"{_fmt(eff.eta_max)}",
        f"on excursion: {recipe.on_excursion.value} ({_POLICY[recipe.on_excursion]})",
        f"total:        {_fmt(total_s)} s ({total_s / 60:.2f} min)",
    ]
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return show_value(round(float(value), 6))


def _nice_step(span: float, max_ticks: int) -> float:
    """The smallest 1-2-5 step no finer than `span / max_ticks`."""
    raw = span / max_ticks
    magnitude: float = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _segment_labels(
    windows: list[tuple[float, float]], col: Callable[[float], int], plot_w: int
) -> str:
    """`#i` centred over each segment's window, where it fits."""
    cells = [" "] * plot_w
    free_from = 0
    for i, (t0, t1) in enumerate(windows):
        text = f"#{i}"
        c0, c1 = col(t0), col(t1)
        start = (c0 + c1 + 1) // 2 - len(text) // 2
        if c1 - c0 > len(text) and start >= free_from and start + len(text) <= plot_w:
            cells[start : start + len(text)] = text
            free_from = start + len(text) + 1
    return "".join(cells)


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    """Left-align text columns (the first two), right-align the rest."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        parts = [
            c.ljust(w) if i < 2 or i == len(cells) - 1 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(head), *(line(r) for r in rows)]
