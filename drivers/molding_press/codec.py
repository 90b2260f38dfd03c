"""Press jobs to LoadJob arguments and process values to snapshots, checked against nodes.py.

Pure functions, no I/O: the driver's unit tests pin them without a server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from drivers.core.errors import DriverError, GarbledResponse
from drivers.core.press import CycleState, JobStatus, PressJob, PressSnapshot
from drivers.molding_press import nodes
from drivers.opcua.values import Typed

NAME_MAX = 64  # LoadJob's Name: 1..64 printable characters (docs/tools/molding-press.md)
UINT32_MAX = 0xFFFF_FFFF
INT32_RANGE = (-(2**31), 2**31 - 1)

# PressJob field -> (LoadJob argument, unit) for the limited numeric arguments.
JOB_LIMITS: dict[str, tuple[str, str]] = {
    "mold_temp_c": ("MoldTemperature", "°C"),
    "clamp_force_kn": ("ClampForce", "kN"),
    "transfer_pressure_mpa": ("TransferPressure", "MPa"),
    "fill_time_s": ("FillTime", "s"),
    "cure_time_s": ("CureTime", "s"),
    "cycles": ("Cycles", ""),
}
# LoadJob's input arguments in order, with their wire types (nodes.py, METHOD_LOAD_JOB).
LOAD_JOB_ARGS: tuple[tuple[str, str], ...] = (
    ("Name", "String"),
    ("RunId", "UInt32"),
    ("MoldTemperature", "Double"),
    ("ClampForce", "Double"),
    ("TransferPressure", "Double"),
    ("FillTime", "Double"),
    ("CureTime", "Double"),
    ("Cycles", "Int32"),
)
KNOWN_ALARM_BITS = sum(nodes.ALARM_NAMES)


class InvalidJob(DriverError, ValueError):
    """A job outside the press's documented limits; nothing was sent to the press."""


def job_problems(job: PressJob) -> list[str]:
    """Every field of `job` outside nodes.LIMITS or its wire type, naming field and limit."""
    problems: list[str] = []
    if not isinstance(job.name, str) or not 1 <= len(job.name) <= NAME_MAX:
        problems.append(f"name must be 1..{NAME_MAX} characters, got {job.name!r}")
    elif not job.name.isprintable():
        problems.append(f"name must be printable characters, got {job.name!r}")
    if not _is_int(job.run_id) or not 0 <= job.run_id <= UINT32_MAX:
        problems.append(f"run_id must be an integer 0..{UINT32_MAX}, got {job.run_id!r}")
    for field, (arg, unit) in JOB_LIMITS.items():
        value = getattr(job, field)
        lo, hi = nodes.LIMITS[arg]
        limit = f"{lo:g}..{hi:g}{' ' + unit if unit else ''}"
        if field == "cycles":
            if not _is_int(value):
                problems.append(f"cycles ({arg}) must be an integer {limit}, got {value!r}")
                continue
        elif not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(f"{field} ({arg}) must be a number {limit}, got {value!r}")
            continue
        if not (math.isfinite(value) and lo <= value <= hi):
            shown = f"{value:g}{' ' + unit if unit else ''}"
            problems.append(f"{field} ({arg}) = {shown} outside {limit}")
    return problems


def load_job_arguments(job: PressJob) -> list[Typed]:
    """LoadJob's arguments, typed as the press expects them."""
    values = (
        job.name,
        job.run_id,
        float(job.mold_temp_c),
        float(job.clamp_force_kn),
        float(job.transfer_pressure_mpa),
        float(job.fill_time_s),
        float(job.cure_time_s),
        job.cycles,
    )
    return [Typed(v, t) for v, (_, t) in zip(values, LOAD_JOB_ARGS, strict=True)]  # type: ignore[arg-type]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked(var: nodes.Var, value: Any, tool_id: str) -> Any:
    """`value` if it has `var`'s wire type and range, else GarbledResponse naming the node."""
    where = f"{tool_id}: {var.node}"
    if var.type in ("Int32", "UInt32"):
        lo, hi = INT32_RANGE if var.type == "Int32" else (0, UINT32_MAX)
        if not _is_int(value) or not lo <= value <= hi:
            raise GarbledResponse(f"{where} = {value!r} is not a {var.type}")
        return value
    if var.type == "Double":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise GarbledResponse(f"{where} = {value!r} is not a number")
        return float(value)
    if var.type == "String":
        if not isinstance(value, str):
            raise GarbledResponse(f"{where} = {value!r} is not a string")
        return value
    if not isinstance(value, bool):
        raise GarbledResponse(f"{where} = {value!r} is not a Boolean")
    return value


def _enum(var: nodes.Var, code: int, names: dict[int, str], tool_id: str) -> int:
    if code not in names:
        documented = ", ".join(f"{k} {v}" for k, v in names.items())
        raise GarbledResponse(
            f"{tool_id}: {var.node} = {code} is not a documented value ({documented})"
        )
    return code


def decode_snapshot(values: Sequence[Any], tool_id: str = "press") -> PressSnapshot:
    """Decode the values of nodes.PROCESS_VARS (in that order) into a snapshot.

    Wrong types, undocumented enum values and undocumented alarm bits are garbled
    answers, not states: they raise `GarbledResponse` naming the node and value.
    """
    if len(values) != len(nodes.PROCESS_VARS):
        raise GarbledResponse(
            f"{tool_id}: expected {len(nodes.PROCESS_VARS)} process values, got {len(values)}"
        )
    v = {
        var.node: _checked(var, value, tool_id)
        for var, value in zip(nodes.PROCESS_VARS, values, strict=True)
    }
    job_status = _enum(nodes.JOB_STATUS, v[nodes.JOB_STATUS.node], nodes.JOB_STATUSES, tool_id)
    production = _enum(
        nodes.PRODUCTION_STATUS,
        v[nodes.PRODUCTION_STATUS.node],
        nodes.PRODUCTION_STATUSES,
        tool_id,
    )
    cycle_state = _enum(nodes.CYCLE_STATE, v[nodes.CYCLE_STATE.node], nodes.CYCLE_STATES, tool_id)
    alarm_bits = v[nodes.ALARM_BITS.node]
    if alarm_bits & ~KNOWN_ALARM_BITS:
        raise GarbledResponse(
            f"{tool_id}: {nodes.ALARM_BITS.node} = {alarm_bits:#x} has undocumented bits "
            f"(documented: {KNOWN_ALARM_BITS:#x})"
        )
    current_cycle = v[nodes.CURRENT_CYCLE.node]
    if current_cycle < 0:
        raise GarbledResponse(f"{tool_id}: {nodes.CURRENT_CYCLE.node} = {current_cycle} < 0")
    return PressSnapshot(
        job_status=JobStatus(job_status),
        production_status=production,
        cycle_state=CycleState(cycle_state),
        alarm_bits=alarm_bits,
        run_id=v[nodes.RUN_ID.node],
        cycle_time_s=v[nodes.CYCLE_TIME.node],
        job_time_s=v[nodes.JOB_TIME.node],
        current_cycle=current_cycle,
        cycles=v[nodes.CYCLES.node],
        good_cycles=v[nodes.GOOD_CYCLES.node],
        bad_cycles=v[nodes.BAD_CYCLES.node],
        last_cycle_time_s=v[nodes.LAST_CYCLE_TIME.node],
        platen_top_c=v[nodes.PLATEN_TOP.node],
        platen_bottom_c=v[nodes.PLATEN_BOTTOM.node],
        clamp_force_kn=v[nodes.CLAMP_FORCE.node],
        transfer_pressure_mpa=v[nodes.TRANSFER_PRESSURE.node],
        ram_position_mm=v[nodes.RAM_POSITION.node],
    )


def alarm_from_message(message: str) -> int:
    """The alarm bit an event message names (messages begin with nodes.ALARM_NAMES), or 0."""
    for bit, name in nodes.ALARM_NAMES.items():
        if message.startswith(name):
            return bit
    return 0
