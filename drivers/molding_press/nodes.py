"""The molding press's OPC UA node model: the wire contract, as data.

Pure data (no imports of our own): the simulator builds its address space from
it and the driver reads it; docs/tools/molding-press.md documents it for any
OPC UA client. Modelled on the ideas of EUROMAP 83 / OPC 40083 (a machine
talking to an MES): job and production status, cycle counters, the job's
parameter set, actual values, a cycle state machine, alarms as events, and
methods to load a job, start and abort.

All nodes live in the namespace NAMESPACE_URI with string node ids
"Press.<path>"; resolve the namespace index at connect time (never assume 2).
Units: °C, kN, MPa, mm, s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NAMESPACE_URI = "urn:pkgline:molding-press"
ROOT = "Press"  # object under Objects, BrowseName "Press"

VarType = Literal["Int32", "UInt32", "Double", "String", "Boolean"]


@dataclass(frozen=True, slots=True)
class Var:
    """One variable: string node id, OPC UA data type, unit, meaning, writable by clients."""

    node: str
    type: VarType
    unit: str
    description: str
    writable: bool = False


# --- status (EUROMAP 83 style) ---------------------------------------------
JOB_STATUS = Var(
    "Press.Status.JobStatus",
    "Int32",
    "enum",
    "0 no job, 1 set-up, 2 in production, 3 interrupted, 4 finished",
)
PRODUCTION_STATUS = Var(
    "Press.Status.ProductionStatus",
    "Int32",
    "enum",
    "0 no production, 1 start-up, 2 ready, 3 production",
)
CYCLE_STATE = Var(
    "Press.Status.CycleState", "Int32", "enum", "0 idle, 1 clamp, 2 fill, 3 cure, 4 open"
)
ALARM_BITS = Var("Press.Status.AlarmBits", "UInt32", "bits", "see ALARM_* bits")
RUN_ID = Var("Press.Status.RunId", "UInt32", "-", "supervisor's run id, stamped by LoadJob")
CYCLE_TIME = Var(
    "Press.Status.CycleTime",
    "Double",
    "s",
    "time since the current cycle began (the press's own clock)",
)
JOB_TIME = Var("Press.Status.JobTime", "Double", "s", "time since the job started")
CURRENT_CYCLE = Var(
    "Press.Status.CurrentCycle", "Int32", "-", "1-based cycle (= wafer) in progress; 0 when none"
)

# --- counters ----------------------------------------------------------------
CYCLES = Var("Press.Counters.Cycles", "UInt32", "-", "cycles completed in this job")
GOOD_CYCLES = Var("Press.Counters.GoodCycles", "UInt32", "-", "cycles completed without a fault")
BAD_CYCLES = Var(
    "Press.Counters.BadCycles",
    "UInt32",
    "-",
    "cycles with a fault (short fill, pressure loss, heater)",
)
LAST_CYCLE_TIME = Var(
    "Press.Counters.LastCycleTime", "Double", "s", "duration of the last completed cycle"
)

# --- the loaded job's parameter set (read-only; written by LoadJob) -----------
JOB_NAME = Var("Press.Job.Name", "String", "-", "job / recipe name")
JOB_MOLD_TEMP = Var("Press.Job.MoldTemperature", "Double", "°C", "platen set-point, top = bottom")
JOB_CLAMP_FORCE = Var("Press.Job.ClampForce", "Double", "kN", "clamp force set-point")
JOB_TRANSFER_PRESSURE = Var(
    "Press.Job.TransferPressure", "Double", "MPa", "transfer / compression pressure set-point"
)
JOB_FILL_TIME = Var("Press.Job.FillTime", "Double", "s", "fill stage duration")
JOB_CURE_TIME = Var("Press.Job.CureTime", "Double", "s", "in-mold cure stage duration")
JOB_CYCLES = Var("Press.Job.Cycles", "Int32", "-", "cycles (wafers) in the job")

# --- actual values -----------------------------------------------------------
PLATEN_TOP = Var("Press.Actual.PlatenTopTemperature", "Double", "°C", "top platen")
PLATEN_BOTTOM = Var("Press.Actual.PlatenBottomTemperature", "Double", "°C", "bottom platen")
CLAMP_FORCE = Var("Press.Actual.ClampForce", "Double", "kN", "measured clamp force")
TRANSFER_PRESSURE = Var(
    "Press.Actual.TransferPressure", "Double", "MPa", "measured transfer pressure"
)
RAM_POSITION = Var(
    "Press.Actual.RamPosition", "Double", "mm", "transfer ram, 0 = retracted, FULL_STROKE_MM = full"
)

# Variables a supervisor reads in one batched call / one subscription.
PROCESS_VARS: tuple[Var, ...] = (
    JOB_STATUS,
    PRODUCTION_STATUS,
    CYCLE_STATE,
    ALARM_BITS,
    RUN_ID,
    CYCLE_TIME,
    JOB_TIME,
    CURRENT_CYCLE,
    CYCLES,
    GOOD_CYCLES,
    BAD_CYCLES,
    LAST_CYCLE_TIME,
    PLATEN_TOP,
    PLATEN_BOTTOM,
    CLAMP_FORCE,
    TRANSFER_PRESSURE,
    RAM_POSITION,
)
JOB_VARS: tuple[Var, ...] = (
    JOB_NAME,
    JOB_MOLD_TEMP,
    JOB_CLAMP_FORCE,
    JOB_TRANSFER_PRESSURE,
    JOB_FILL_TIME,
    JOB_CURE_TIME,
    JOB_CYCLES,
)

# --- methods (on the Press object) -------------------------------------------
# LoadJob(Name: String, RunId: UInt32, MoldTemperature: Double, ClampForce: Double,
#         TransferPressure: Double, FillTime: Double, CureTime: Double, Cycles: Int32)
#   -> Good, or BadInvalidArgument (a value outside LIMITS; message names it),
#      or BadInvalidState (a job is in production).
METHOD_LOAD_JOB = "Press.LoadJob"
METHOD_START = "Press.Start"  # BadInvalidState without a loaded job or while producing
METHOD_ABORT = "Press.Abort"  # interrupts the job: JobStatus 3
METHOD_RESET = "Press.Reset"  # clears a finished/interrupted job and latched alarms

LIMITS = {
    "MoldTemperature": (20.0, 200.0),
    "ClampForce": (0.0, 2000.0),
    "TransferPressure": (0.0, 20.0),
    "FillTime": (1.0, 120.0),
    "CureTime": (1.0, 1800.0),
    "Cycles": (1, 25),
}
FULL_STROKE_MM = 50.0

JOB_STATUSES = {0: "no job", 1: "set-up", 2: "in production", 3: "interrupted", 4: "finished"}
PRODUCTION_STATUSES = {0: "no production", 1: "start-up", 2: "ready", 3: "production"}
CYCLE_STATES = {0: "idle", 1: "clamp", 2: "fill", 3: "cure", 4: "open"}

ALARM_PLATEN_HEATER = 1 << 0  # a platen heater failed
ALARM_PRESSURE_LOSS = 1 << 1  # transfer pressure lost during fill
ALARM_SHORT_FILL = 1 << 2  # ram stopped short of full stroke
ALARM_NAMES = {
    ALARM_PLATEN_HEATER: "platen heater failure",
    ALARM_PRESSURE_LOSS: "pressure loss during fill",
    ALARM_SHORT_FILL: "short fill",
}

# Alarms are also emitted as OPC UA events (BaseEventType) from the Press object:
# Severity 700 on, 100 off; Message text names the alarm; SourceName "Press".
EVENT_SOURCE = ROOT

DEFAULT_PORT = 4840
ENDPOINT_PATH = "/pkgline/press"
