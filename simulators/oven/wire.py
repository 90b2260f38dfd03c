"""The oven's registers as words: encode readings, check and hold holding-register writes.

Everything here follows drivers/cure_oven/registers.py (the wire contract):
32-bit values in two registers, high word first; float32 is IEEE-754; int16
is two's complement. No protocol library here, so it is testable without a socket.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from drivers.cure_oven import registers as reg
from simulators.oven.plant import OvenReadings
from simulators.oven.program import ProgramSegment, SegmentKind


class IllegalAddressError(Exception):
    """An address outside the documented blocks, or a write that splits a 32-bit value."""


class IllegalValueError(Exception):
    """A written value outside its documented range (Modbus exception 0x03)."""


def float32_words(value: float) -> list[int]:
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [hi, lo]


def words_float32(hi: int, lo: int) -> float:
    value: float = struct.unpack(">f", struct.pack(">HH", hi, lo))[0]
    return value


def encode(register: reg.Register, value: float) -> list[int]:
    """Words of `value` as `register`'s type (uint32/float32: high word first)."""
    if register.type == "float32":
        return float32_words(value)
    if register.type == "uint32":
        v = int(value)
        return [(v >> 16) & 0xFFFF, v & 0xFFFF]
    return [int(value) & 0xFFFF]  # uint16, or int16 in two's complement


def decode(register: reg.Register, words: Sequence[int]) -> float:
    if register.type == "float32":
        return words_float32(words[0], words[1])
    if register.type == "uint32":
        return (words[0] << 16) | words[1]
    if register.type == "int16":
        return words[0] - 0x10000 if words[0] & 0x8000 else words[0]
    return words[0]


def encode_inputs(r: OvenReadings) -> list[int]:
    """The whole input-register image (registers.INPUT_COUNT words) for one instant."""
    words = [0] * reg.INPUT_COUNT
    zones = len(r.zones_c)
    scalars: list[tuple[reg.Register, float]] = [
        (reg.PROGRAM_STATE, int(r.program_state)),
        (reg.SEGMENT_INDEX, r.segment_index),
        (reg.PROGRAM_TIME, r.program_time_s),
        (reg.SETPOINT, r.setpoint_c),
        (reg.O2_PPM, r.o2_ppm),
        (reg.N2_FLOW, r.n2_flow_lpm),
        (reg.DOOR_OPEN, int(r.door_open)),
        (reg.ALARM_BITS, r.alarm_bits),
        (reg.ZONE_COUNT, zones),
        (reg.HEARTBEAT, r.heartbeat),
        (reg.HEATER_FAULT_MASK, r.heater_fault_mask),
        (reg.TC_OPEN_MASK, r.tc_open_mask),
    ]
    for register, value in scalars:
        words[register.address : register.address + register.count] = encode(register, value)
    for z in range(reg.MAX_ZONES):
        # Zones the oven does not have read NaN and 0 % (zone_count says how many exist).
        temp = r.zones_c[z] if z < zones else math.nan
        addr = reg.zone_temp_address(z + 1)
        words[addr : addr + 2] = float32_words(temp)
        pct = r.heater_pct[z] if z < zones else 0.0
        words[reg.HEATER_OUTPUT_BASE + z] = round(min(max(pct, 0.0), 100.0) * 10)
    return words


def _segment_fields(i: int) -> tuple[reg.Register, ...]:
    base = reg.segment_address(i)
    name = f"segment[{i}]"
    kinds = (min(reg.SEGMENT_KINDS), max(reg.SEGMENT_KINDS))
    return (
        reg.Register(f"{name}.kind", base + reg.SEGMENT_KIND_OFFSET, "uint16", "enum", "", *kinds),
        reg.Register(f"{name}.reserved", base + 1, "uint16", "-", "reserved, ignored"),
        reg.Register(
            f"{name}.target_c",
            base + reg.SEGMENT_TARGET_OFFSET,
            "float32",
            "°C",
            "",
            *reg.SEGMENT_TARGET_RANGE,
        ),
        reg.Register(
            f"{name}.rate_c_per_min",
            base + reg.SEGMENT_RATE_OFFSET,
            "float32",
            "°C/min",
            "",
            *reg.SEGMENT_RATE_RANGE,
        ),
        reg.Register(
            f"{name}.duration_s",
            base + reg.SEGMENT_DURATION_OFFSET,
            "float32",
            "s",
            "",
            *reg.SEGMENT_DURATION_RANGE,
        ),
    )


SEGMENT_FIELDS = tuple(_segment_fields(i) for i in range(reg.MAX_SEGMENTS))
PROGRAM_FIELDS = (reg.SEGMENT_COUNT, reg.RUN_ID, *(f for seg in SEGMENT_FIELDS for f in seg))
_PROGRAM_NAMES = frozenset(f.name for f in PROGRAM_FIELDS)
HOLDING_FIELDS = (reg.COMMAND, reg.N2_SETPOINT, *PROGRAM_FIELDS)
# address → the field that owns it (a 32-bit field owns two addresses)
_OWNER = {a: f for f in HOLDING_FIELDS for a in range(f.address, f.address + f.count)}


@dataclass(frozen=True, slots=True)
class HoldingWrite:
    """A checked write, not yet applied: the image it would give and the fields it sets."""

    words: list[int]
    fields: dict[str, float]

    @property
    def touches_program(self) -> bool:
        return not _PROGRAM_NAMES.isdisjoint(self.fields)


class HoldingImage:
    """The holding registers: command (reads 0), program table, run id, N2 setpoint."""

    def __init__(self, n2_setpoint_lpm: float) -> None:
        self.words = [0] * reg.HOLDING_COUNT
        self._set(self.words, reg.N2_SETPOINT, n2_setpoint_lpm)

    @staticmethod
    def _set(words: list[int], field: reg.Register, value: float) -> None:
        at = field.address - reg.HOLDING_BASE
        words[at : at + field.count] = encode(field, value)

    @staticmethod
    def _get(words: Sequence[int], field: reg.Register) -> float:
        at = field.address - reg.HOLDING_BASE
        return decode(field, words[at : at + field.count])

    def read(self, address: int, count: int) -> list[int]:
        """Words at address..address+count-1; IllegalAddressError outside the documented blocks."""
        for a in range(address, address + count):
            if a not in _OWNER:
                raise IllegalAddressError(f"holding register {a} does not exist")
        at = address - reg.HOLDING_BASE
        return self.words[at : at + count]

    def plan(self, address: int, values: Sequence[int]) -> HoldingWrite:
        """Check a write against the register map (IllegalAddressError, IllegalValueError)."""
        end = address + len(values)
        touched: list[reg.Register] = []
        for a in range(address, end):
            field = _OWNER.get(a)
            if field is None:
                raise IllegalAddressError(f"holding register {a} does not exist")
            if field.address < address or field.address + field.count > end:
                raise IllegalAddressError(
                    f"{field.name} is {field.type}: write both registers at once"
                )
            if not touched or touched[-1] is not field:
                touched.append(field)
        words = list(self.words)
        words[address - reg.HOLDING_BASE : end - reg.HOLDING_BASE] = values
        fields: dict[str, float] = {}
        for field in touched:
            value = self._get(words, field)
            low = -math.inf if field.minimum is None else field.minimum
            high = math.inf if field.maximum is None else field.maximum
            if not low <= value <= high:  # NaN fails too
                raise IllegalValueError(f"{field.name} = {value} outside {low:g}..{high:g}")
            fields[field.name] = value
        self._set(words, reg.COMMAND, 0)  # the command register reads 0
        return HoldingWrite(words, fields)

    def commit(self, write: HoldingWrite) -> None:
        self.words = write.words

    @property
    def run_id(self) -> int:
        return int(self._get(self.words, reg.RUN_ID))

    @property
    def n2_setpoint_lpm(self) -> float:
        return self._get(self.words, reg.N2_SETPOINT)

    def segments(self, words: Sequence[int] | None = None) -> list[ProgramSegment]:
        """The program in `words` (default: this image): segment_count entries of the table."""
        words = self.words if words is None else words
        count = int(self._get(words, reg.SEGMENT_COUNT))
        program = []
        for i in range(count):
            kind, _, target, rate, duration = (self._get(words, f) for f in SEGMENT_FIELDS[i])
            program.append(ProgramSegment(SegmentKind(int(kind)), target, rate, duration))
        return program
