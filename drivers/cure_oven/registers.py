"""The cure oven's Modbus TCP register map: the wire contract, as data.

This module is pure data (no imports of our own): the simulator serves it and
the driver reads it, and docs/tools/cure-oven.md documents it for any client.

Conventions: unit id 1; 32-bit values are IEEE-754 float32 or uint32 in two
consecutive registers, high word first (big-endian word order, "ABCD");
temperatures in °C, time in seconds, O2 in ppm (volume), N2 flow in L/min.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

UNIT_ID = 1
MAX_ZONES = 8
MAX_SEGMENTS = 16

RegType = Literal["uint16", "int16", "uint32", "float32"]


@dataclass(frozen=True, slots=True)
class Register:
    """One value on the wire: address, type, unit and documented valid range."""

    name: str
    address: int
    type: RegType
    unit: str
    description: str
    minimum: float | None = None
    maximum: float | None = None

    @property
    def count(self) -> int:
        return 2 if self.type in ("uint32", "float32") else 1


# --- Input registers (function code 04, read-only) -------------------------
INPUT_BASE = 0
INPUT_COUNT = 40  # the whole process image, readable in one request

PROGRAM_STATE = Register(
    "program_state", 0, "uint16", "enum", "0 idle, 1 running, 2 complete, 3 aborted, 4 fault"
)
SEGMENT_INDEX = Register("segment_index", 1, "int16", "-", "running segment, 0-based; -1 when idle")
PROGRAM_TIME = Register(
    "program_time_s", 2, "float32", "s", "time since program start (the oven's own clock)"
)
SETPOINT = Register("setpoint_c", 4, "float32", "°C", "current program setpoint")
O2_PPM = Register("o2_ppm", 6, "float32", "ppm", "chamber oxygen")
N2_FLOW = Register("n2_flow_lpm", 8, "float32", "L/min", "measured N2 purge flow")
DOOR_OPEN = Register("door_open", 10, "uint16", "bool", "1 when the door is open")
ALARM_BITS = Register("alarm_bits", 11, "uint16", "bits", "see ALARM_* bits")
ZONE_COUNT = Register(
    "zone_count", 12, "uint16", "-", "number of heater zones / thermocouples", 1, MAX_ZONES
)
HEARTBEAT = Register("heartbeat", 13, "uint16", "-", "increments on every controller scan (wraps)")
HEATER_FAULT_MASK = Register(
    "heater_fault_mask", 14, "uint16", "bits", "bit z set: heater of zone z+1 failed"
)
TC_OPEN_MASK = Register(
    "tc_open_mask", 15, "uint16", "bits", "bit z set: thermocouple of zone z+1 open"
)
ZONE_TEMP_BASE = 16  # float32 per zone: zone z (1-based) at 16 + 2*(z-1); NaN when open
HEATER_OUTPUT_BASE = 32  # uint16 per zone, 0..1000 = 0.0..100.0 % heater output

ALARM_HEATER_FAILURE = 1 << 0
ALARM_TC_OPEN = 1 << 1
ALARM_DOOR_OPEN = 1 << 2
ALARM_N2_LOW = 1 << 3
ALARM_OVERTEMP = 1 << 4

ALARM_NAMES = {
    ALARM_HEATER_FAILURE: "heater failure",
    ALARM_TC_OPEN: "thermocouple open",
    ALARM_DOOR_OPEN: "door open",
    ALARM_N2_LOW: "N2 flow low",
    ALARM_OVERTEMP: "over-temperature",
}

# --- Holding registers (function codes 03 read, 06/16 write) ----------------
HOLDING_BASE = 100
COMMAND = Register(
    "command", 100, "uint16", "enum", "write 1 start, 2 abort, 3 reset; reads 0", 0, 3
)
SEGMENT_COUNT = Register(
    "segment_count", 101, "uint16", "-", "segments in the program", 0, MAX_SEGMENTS
)
RUN_ID = Register(
    "run_id", 102, "uint32", "-", "supervisor's run id stamped on the tool", 0, 4294967295
)
N2_SETPOINT = Register(
    "n2_setpoint_lpm", 104, "float32", "L/min", "N2 purge flow setpoint", 0.0, 200.0
)
SEGMENT_BASE = 110
SEGMENT_STRIDE = 8  # kind(uint16), reserved(uint16), target_c, rate_c_per_min, duration_s (float32)
HOLDING_COUNT = SEGMENT_BASE + SEGMENT_STRIDE * MAX_SEGMENTS - HOLDING_BASE  # 138

CMD_START = 1
CMD_ABORT = 2
CMD_RESET = 3

SEGMENT_KIND_OFFSET = 0
SEGMENT_TARGET_OFFSET = 2
SEGMENT_RATE_OFFSET = 4
SEGMENT_DURATION_OFFSET = 6
SEGMENT_TARGET_RANGE = (0.0, 450.0)  # °C
SEGMENT_RATE_RANGE = (0.0, 20.0)  # °C/min; 0 only for soak segments
SEGMENT_DURATION_RANGE = (0.0, 7.0 * 24 * 3600)  # s

PROGRAM_STATES = {0: "idle", 1: "running", 2: "complete", 3: "aborted", 4: "fault"}
SEGMENT_KINDS = {0: "ramp", 1: "soak"}


def zone_temp_address(zone: int) -> int:
    """Input register of zone `zone` (1-based) temperature, float32."""
    return ZONE_TEMP_BASE + 2 * (zone - 1)


def segment_address(index: int) -> int:
    """First holding register of program segment `index` (0-based)."""
    return SEGMENT_BASE + SEGMENT_STRIDE * index
