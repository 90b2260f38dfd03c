"""Plating jobs to LoadJob arguments and tool values to snapshots, checked against nodes.py.

Pure functions, no I/O: the driver's unit tests pin them without a server.
Node ids here are the plain identifiers of nodes.py ("Plater.Cell1.State"); the
driver adds the namespace.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from drivers.core.errors import DriverError, GarbledResponse
from drivers.core.plater import CellSnapshot, CellState, PlaterSnapshot, PlatingStep
from drivers.opcua.values import Typed, TypeName
from drivers.plater import nodes

WAFER_ID_MAX = 64  # LoadJob's WaferId: 1..64 printable characters
UINT32_MAX = 0xFFFF_FFFF
INT32_RANGE = (-(2**31), 2**31 - 1)

# LoadJob's input arguments in order, with their wire types (nodes.py, METHOD_LOAD_JOB).
LOAD_JOB_ARGS: tuple[tuple[str, TypeName], ...] = (
    ("WaferId", "String"),
    ("RunId", "UInt32"),
    ("Currents", "Double"),  # Double[]
    ("Durations", "Double"),  # Double[]
    ("RampS", "Double"),
)
# Documented alarm bits per node (nodes.BATH_VARS / nodes.CELL_VARS descriptions).
BATH_ALARM_BITS = nodes.ALARM_BATH_OVERTEMP
CELL_ALARM_BITS = nodes.ALARM_CONTACT | nodes.ALARM_RECTIFIER_TRIP


class InvalidJob(DriverError, ValueError):
    """A job outside the tool's documented limits; nothing was sent to the tool."""


class InvalidCell(DriverError, ValueError):
    """A cell number the tool does not have; nothing was sent to the tool."""


# --- jobs -------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_problem(field: str, arg: str, key: str, value: object, unit: str) -> str | None:
    """A problem naming `field` and LoadJob argument `arg` if `value` is outside LIMITS[key]."""
    lo, hi = nodes.LIMITS[key]
    limit = f"{lo:g}..{hi:g} {unit}"
    if not _is_number(value):
        return f"{field} ({arg}) must be a number {limit}, got {value!r}"
    assert isinstance(value, int | float)
    if not (math.isfinite(value) and lo <= value <= hi):
        return f"{field} ({arg}) = {value:g} {unit} outside {limit}"
    return None


def job_problems(wafer_id: object, run_id: object, steps: object, ramp_s: object) -> list[str]:
    """Every part of a LoadJob outside nodes.LIMITS or its wire type, naming field and limit."""
    problems: list[str] = []
    if not isinstance(wafer_id, str) or not 1 <= len(wafer_id) <= WAFER_ID_MAX:
        problems.append(f"wafer_id must be 1..{WAFER_ID_MAX} characters, got {wafer_id!r}")
    elif not wafer_id.isprintable():
        problems.append(f"wafer_id must be printable characters, got {wafer_id!r}")
    if not _is_int(run_id) or not 0 <= run_id <= UINT32_MAX:  # type: ignore[operator]
        problems.append(f"run_id (RunId) must be an integer 0..{UINT32_MAX}, got {run_id!r}")
    lo_n, hi_n = nodes.LIMITS["Steps"]
    if isinstance(steps, str | bytes) or not isinstance(steps, Sequence):
        problems.append(f"steps must be a sequence of {lo_n}..{hi_n} PlatingStep, got {steps!r}")
    else:
        if not lo_n <= len(steps) <= hi_n:
            problems.append(f"steps: {len(steps)} steps outside {lo_n}..{hi_n}")
        for i, step in enumerate(steps):
            if not isinstance(step, PlatingStep):
                problems.append(f"steps[{i}] must be a PlatingStep, got {step!r}")
                continue
            for field, arg, value, unit in (
                ("current_a", "Current", step.current_a, "A"),
                ("duration_s", "Duration", step.duration_s, "s"),
            ):
                problem = _number_problem(f"steps[{i}].{field}", f"{arg}s[{i}]", arg, value, unit)
                if problem is not None:
                    problems.append(problem)
    problem = _number_problem("ramp_s", "RampS", "RampS", ramp_s, "s")
    if problem is not None:
        problems.append(problem)
    return problems


def load_job_arguments(
    wafer_id: str, run_id: int, steps: Sequence[PlatingStep], ramp_s: float
) -> list[Typed]:
    """LoadJob's arguments, typed as the tool expects them (Currents, Durations: Double[])."""
    values: tuple[Any, ...] = (
        wafer_id,
        run_id,
        [float(s.current_a) for s in steps],
        [float(s.duration_s) for s in steps],
        float(ramp_s),
    )
    return [Typed(v, t) for v, (_, t) in zip(values, LOAD_JOB_ARGS, strict=True)]


# --- snapshots --------------------------------------------------------------------


def snapshot_nodes(cells: int = nodes.CELLS) -> tuple[tuple[str, nodes.Var], ...]:
    """(node id, var) for the bath, then each cell 1..cells: the order decode_snapshot reads."""
    bath = tuple((nodes.bath_node(v.name), v) for v in nodes.BATH_VARS)
    per_cell = tuple(
        (nodes.cell_node(k, v.name), v) for k in range(1, cells + 1) for v in nodes.CELL_VARS
    )
    return bath + per_cell


def _checked(node: str, var: nodes.Var, value: Any, tool_id: str) -> Any:
    """`value` if it has `var`'s wire type and range, else GarbledResponse naming the node."""
    where = f"{tool_id}: {node}"
    if var.type in ("Int32", "UInt32"):
        lo, hi = INT32_RANGE if var.type == "Int32" else (0, UINT32_MAX)
        if not _is_int(value) or not lo <= value <= hi:
            raise GarbledResponse(f"{where} = {value!r} is not a {var.type}")
        return value
    if var.type == "Double":
        if not _is_number(value):
            raise GarbledResponse(f"{where} = {value!r} is not a number")
        return float(value)
    if not isinstance(value, str):
        raise GarbledResponse(f"{where} = {value!r} is not a string")
    return value


def _alarm_bits(node: str, bits: int, documented: int, tool_id: str) -> int:
    if bits & ~documented:
        raise GarbledResponse(
            f"{tool_id}: {node} = {bits:#x} has undocumented bits (documented: {documented:#x})"
        )
    return bits


def _cell(k: int, v: dict[str, Any], tool_id: str) -> CellSnapshot:
    def node(name: str) -> str:
        return nodes.cell_node(k, name)

    state = v[node("State")]
    if state not in nodes.CELL_STATES:
        documented = ", ".join(f"{c} {n}" for c, n in nodes.CELL_STATES.items())
        raise GarbledResponse(
            f"{tool_id}: {node('State')} = {state} is not a documented value ({documented})"
        )
    step = v[node("Step")]
    if not -1 <= step < nodes.MAX_STEPS:
        raise GarbledResponse(
            f"{tool_id}: {node('Step')} = {step} outside -1..{nodes.MAX_STEPS - 1}"
        )
    return CellSnapshot(
        cell=k,
        state=CellState(state),
        wafer_id=v[node("WaferId")],
        run_id=v[node("RunId")],
        step=step,
        job_time_s=v[node("JobTime")],
        current_setpoint_a=v[node("CurrentSetpoint")],
        current_a=v[node("Current")],
        voltage_v=v[node("Voltage")],
        alarm_bits=_alarm_bits(node("AlarmBits"), v[node("AlarmBits")], CELL_ALARM_BITS, tool_id),
    )


def decode_snapshot(
    values: Sequence[Any], cells: int = nodes.CELLS, tool_id: str = "plater"
) -> PlaterSnapshot:
    """Decode the values of snapshot_nodes(cells) (in that order) into a snapshot.

    Wrong types, undocumented enum values and undocumented alarm bits are garbled
    answers, not states: they raise `GarbledResponse` naming the node and value.
    """
    layout = snapshot_nodes(cells)
    if len(values) != len(layout):
        raise GarbledResponse(
            f"{tool_id}: expected {len(layout)} values (bath + {cells} cells), got {len(values)}"
        )
    v = {
        node: _checked(node, var, value, tool_id)
        for (node, var), value in zip(layout, values, strict=True)
    }
    bath_alarms = nodes.bath_node("AlarmBits")
    return PlaterSnapshot(
        bath_temp_c=v[nodes.bath_node("Temperature")],
        agitation_rpm=v[nodes.bath_node("Agitation")],
        bath_amp_hours=v[nodes.bath_node("AmpHours")],
        bath_alarm_bits=_alarm_bits(bath_alarms, v[bath_alarms], BATH_ALARM_BITS, tool_id),
        cells=tuple(_cell(k, v, tool_id) for k in range(1, cells + 1)),
    )
