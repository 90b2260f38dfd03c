"""The plating tool's OPC UA node model: the wire contract, as data (no imports of ours).

A tool has one shared bath and CELLS cells; each cell plates one wafer at a
time through a list of steps (current set-point, duration) with a ramp between
them. Node ids are strings in NAMESPACE_URI: "Plater.<path>" for the tool,
"Plater.Cell<k>.<name>" for cell k (1-based). Units: A, V, °C, s, A·h, rpm.
The tool reports measured current and voltage, never a plated charge or
thickness: that is the supervisor's job (integrate the current).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NAMESPACE_URI = "urn:pkgline:plating-tool"
ROOT = "Plater"
CELLS = 2
MAX_CELLS = 64  # the most cells a tool may have (node ids Plater.Cell1..Cell64)
MAX_STEPS = 8
DEFAULT_PORT = 4841
ENDPOINT_PATH = "/pkgline/plater"

VarType = Literal["Int32", "UInt32", "Double", "String"]


@dataclass(frozen=True, slots=True)
class Var:
    name: str  # last part of the node id
    type: VarType
    unit: str
    description: str


# --- tool level: "Plater.Bath.<name>" ------------------------------------------
BATH_VARS: tuple[Var, ...] = (
    Var("Temperature", "Double", "°C", "bath temperature"),
    Var("Agitation", "Double", "rpm", "paddle agitation"),
    Var("AmpHours", "Double", "A·h", "charge passed through the bath since it was made up"),
    Var("AlarmBits", "UInt32", "bits", "bath alarms: ALARM_BATH_OVERTEMP"),
)

# --- per cell: "Plater.Cell<k>.<name>" -------------------------------------------
CELL_VARS: tuple[Var, ...] = (
    Var("State", "Int32", "enum", "0 idle, 1 loaded, 2 plating, 3 done, 4 fault, 5 aborted"),
    Var("WaferId", "String", "-", "wafer loaded in the cell"),
    Var("RunId", "UInt32", "-", "supervisor's run id, stamped by LoadJob"),
    Var("Step", "Int32", "-", "0-based step in progress; -1 when not plating"),
    Var("JobTime", "Double", "s", "time since Start (the cell's own clock)"),
    Var("CurrentSetpoint", "Double", "A", "rectifier set-point now (ramped)"),
    Var("Current", "Double", "A", "measured rectifier current"),
    Var("Voltage", "Double", "V", "measured cell voltage"),
    Var("AlarmBits", "UInt32", "bits", "cell alarms: ALARM_CONTACT, ALARM_RECTIFIER_TRIP"),
)

CELL_STATES = {0: "idle", 1: "loaded", 2: "plating", 3: "done", 4: "fault", 5: "aborted"}

# Methods on the cell object "Plater.Cell<k>":
# LoadJob(WaferId: String, RunId: UInt32, Currents: Double[] (A), Durations: Double[] (s),
#         RampS: Double) -> Good | BadInvalidArgument (names the argument and limit)
#         | BadInvalidState (the cell is plating)
# Start() -> BadInvalidState unless loaded; Abort(); Reset() (done/aborted/fault -> idle)
METHOD_LOAD_JOB = "LoadJob"
METHOD_START = "Start"
METHOD_ABORT = "Abort"
METHOD_RESET = "Reset"

LIMITS = {
    "Current": (0.0, 200.0),  # A per step
    "Duration": (1.0, 7200.0),  # s per step
    "RampS": (0.0, 120.0),
    "Steps": (1, MAX_STEPS),
}

ALARM_CONTACT = 1 << 0  # wafer contact failure: current collapses
ALARM_RECTIFIER_TRIP = 1 << 1  # rectifier tripped: current to zero, cell faults
ALARM_BATH_OVERTEMP = 1 << 2  # bath above its limit
ALARM_NAMES = {
    ALARM_CONTACT: "contact failure",
    ALARM_RECTIFIER_TRIP: "rectifier trip",
    ALARM_BATH_OVERTEMP: "bath over temperature",
}


def bath_node(name: str) -> str:
    return f"{ROOT}.Bath.{name}"


def cell_object(cell: int) -> str:
    return f"{ROOT}.Cell{cell}"


def cell_node(cell: int, name: str) -> str:
    return f"{ROOT}.Cell{cell}.{name}"
