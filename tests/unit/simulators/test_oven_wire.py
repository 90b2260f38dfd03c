"""The cure oven's registers as words: encoding and checked holding-register writes."""

from __future__ import annotations

import math
import struct

import pytest

from drivers.cure_oven import registers as reg
from simulators.oven import wire
from simulators.oven.faults import parse_fault
from simulators.oven.plant import OvenPlant
from simulators.oven.program import ProgramSegment, SegmentKind


def f32(value: float) -> list[int]:
    return list(struct.unpack(">HH", struct.pack(">f", value)))


def segment_words(kind: int, target: float, rate: float, duration: float) -> list[int]:
    return [kind, 0, *f32(target), *f32(rate), *f32(duration)]


class TestInputImage:
    def test_values_sit_at_their_documented_addresses(self) -> None:
        """float32 high word first, int16 -1 as 0xFFFF, NaN for an open TC and for zones the
        oven does not have, heater output in 0.1 % steps."""
        plant = OvenPlant(faults=[parse_fault("tc_open:zone=2")], seed=0)
        plant.advance(5.0)
        r = plant.readings()
        words = wire.encode_inputs(r)
        assert len(words) == reg.INPUT_COUNT
        assert words[reg.SEGMENT_INDEX.address] == 0xFFFF
        assert words[reg.ZONE_COUNT.address] == 4
        assert words[reg.HEARTBEAT.address] == 5
        assert words[reg.TC_OPEN_MASK.address] == 0b10
        assert words[reg.ALARM_BITS.address] == reg.ALARM_TC_OPEN
        z1 = reg.zone_temp_address(1)
        assert words[z1 : z1 + 2] == f32(r.zones_c[0])
        z2 = reg.zone_temp_address(2)
        assert math.isnan(wire.words_float32(*words[z2 : z2 + 2]))
        z5 = reg.zone_temp_address(5)
        assert math.isnan(wire.words_float32(*words[z5 : z5 + 2]))
        o2 = reg.O2_PPM.address
        assert wire.words_float32(*words[o2 : o2 + 2]) == pytest.approx(r.o2_ppm, rel=1e-6)

    def test_float32_word_order_is_high_word_first(self) -> None:
        """175.0 °C is 0x432F 0x0000 on the wire (ABCD)."""
        assert wire.float32_words(175.0) == [0x432F, 0x0000]


class TestHoldingWrites:
    def image(self) -> wire.HoldingImage:
        return wire.HoldingImage(n2_setpoint_lpm=50.0)

    def test_a_whole_program_write_decodes_to_segments(self) -> None:
        """Writing segment_count, run id and a segment table yields that program; the
        command register reads 0 afterwards."""
        img = self.image()
        w = img.plan(reg.COMMAND.address, [0, 2, 0x0001, 0x0002])
        img.commit(w)
        base = reg.segment_address(0)
        img.commit(img.plan(base, segment_words(0, 175, 3, 0) + segment_words(1, 175, 0, 3600)))
        assert img.run_id == 0x00010002
        assert img.segments() == [
            ProgramSegment(SegmentKind.RAMP, 175.0, 3.0, 0.0),
            ProgramSegment(SegmentKind.SOAK, 175.0, 0.0, 3600.0),
        ]
        img.commit(img.plan(reg.COMMAND.address, [reg.CMD_START]))
        assert img.read(reg.COMMAND.address, 1) == [0]

    @pytest.mark.parametrize(
        ("address", "values", "field"),
        [
            (reg.COMMAND.address, [4], "command"),
            (reg.SEGMENT_COUNT.address, [reg.MAX_SEGMENTS + 1], "segment_count"),
            (reg.N2_SETPOINT.address, f32(250.0), "n2_setpoint_lpm"),
            (reg.N2_SETPOINT.address, f32(math.nan), "n2_setpoint_lpm"),
            (reg.segment_address(0), [2], "segment[0].kind"),
            (reg.segment_address(3) + 2, f32(451.0), "segment[3].target_c"),
            (reg.segment_address(3) + 4, f32(20.5), "segment[3].rate_c_per_min"),
            (reg.segment_address(15) + 6, f32(8 * 24 * 3600.0), "segment[15].duration_s"),
        ],
    )
    def test_out_of_range_values_are_refused_and_change_nothing(
        self, address: int, values: list[int], field: str
    ) -> None:
        """A value outside registers.py's range raises IllegalValueError naming the field."""
        img = self.image()
        before = list(img.words)
        with pytest.raises(wire.IllegalValueError) as info:
            img.plan(address, values)
        assert str(info.value).startswith(f"{field} = ")
        assert img.words == before

    @pytest.mark.parametrize(
        ("address", "count"),
        [(106, 1), (104, 4), (99, 2), (reg.HOLDING_BASE + reg.HOLDING_COUNT, 1)],
    )
    def test_addresses_outside_the_blocks_are_illegal(self, address: int, count: int) -> None:
        """Registers 106–109 and those outside 100..237 do not exist, for reads and writes."""
        img = self.image()
        with pytest.raises(wire.IllegalAddressError):
            img.read(address, count)
        with pytest.raises(wire.IllegalAddressError):
            img.plan(address, [0] * count)

    def test_half_a_32_bit_value_cannot_be_written(self) -> None:
        """Writing one register of a float32/uint32 is refused: both words go together."""
        img = self.image()
        with pytest.raises(wire.IllegalAddressError, match="write both registers"):
            img.plan(reg.N2_SETPOINT.address + 1, [0])
        with pytest.raises(wire.IllegalAddressError, match="write both registers"):
            img.plan(reg.RUN_ID.address, [1])
