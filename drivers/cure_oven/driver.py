"""Cure oven driver: the `Oven` capability over the Modbus register map in `registers`."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence

from drivers.core.clock import Clock, MonotonicClock
from drivers.core.errors import GarbledResponse
from drivers.core.oven import OvenProgramSegment, OvenSnapshot, ProgramState, SegmentKind
from drivers.cure_oven import registers as reg
from drivers.modbus.codec import (
    decode_float32,
    decode_int16,
    decode_uint32,
    encode_float32,
    encode_uint32,
)
from drivers.modbus.transport import ModbusTransport


class ModbusOven:
    """A cure oven reached over Modbus TCP (see docs/tools/cure-oven.md)."""

    def __init__(
        self, tool_id: str, transport: ModbusTransport, clock: Clock | None = None
    ) -> None:
        self._tool_id = tool_id
        self.transport = transport
        self._clock: Clock = clock or MonotonicClock()

    @property
    def tool_id(self) -> str:
        return self._tool_id

    async def connect(self) -> None:
        await self.transport.connect()

    async def close(self) -> None:
        await self.transport.close()

    async def download_program(self, segments: Sequence[OvenProgramSegment]) -> None:
        if not 1 <= len(segments) <= reg.MAX_SEGMENTS:
            raise ValueError(f"a program has 1..{reg.MAX_SEGMENTS} segments, got {len(segments)}")
        words: list[int] = []
        for seg in segments:
            words += [int(seg.kind), 0]
            words += encode_float32(seg.target_c)
            words += encode_float32(seg.rate_c_per_min)
            words += encode_float32(seg.duration_s)
        await self.transport.write(reg.SEGMENT_BASE, words)
        await self.transport.write(reg.SEGMENT_COUNT.address, [len(segments)])

    async def set_n2_flow(self, lpm: float) -> None:
        await self.transport.write(reg.N2_SETPOINT.address, encode_float32(lpm))

    async def stamp_run_id(self, run_id: int) -> None:
        await self.transport.write(reg.RUN_ID.address, encode_uint32(run_id))

    async def start(self) -> None:
        await self.transport.write(reg.COMMAND.address, [reg.CMD_START])

    async def abort(self) -> None:
        await self.transport.write(reg.COMMAND.address, [reg.CMD_ABORT])

    async def reset(self) -> None:
        await self.transport.write(reg.COMMAND.address, [reg.CMD_RESET])

    async def read_program(self) -> list[OvenProgramSegment]:
        """Read back the downloaded program (to verify a download)."""
        count = (await self.transport.read_holding(reg.SEGMENT_COUNT.address, 1))[0]
        if count == 0:
            return []
        words = await self.transport.read_holding(reg.SEGMENT_BASE, reg.SEGMENT_STRIDE * count)
        segments = []
        for i in range(count):
            o = i * reg.SEGMENT_STRIDE
            segments.append(
                OvenProgramSegment(
                    kind=SegmentKind(words[o + reg.SEGMENT_KIND_OFFSET]),
                    target_c=decode_float32(words, o + reg.SEGMENT_TARGET_OFFSET),
                    rate_c_per_min=decode_float32(words, o + reg.SEGMENT_RATE_OFFSET),
                    duration_s=decode_float32(words, o + reg.SEGMENT_DURATION_OFFSET),
                )
            )
        return segments

    async def read(self) -> OvenSnapshot:
        image = await self.transport.read_input(reg.INPUT_BASE, reg.INPUT_COUNT)
        run_words = await self.transport.read_holding(reg.RUN_ID.address, reg.RUN_ID.count)
        return decode_snapshot(image, decode_uint32(run_words), self._tool_id)

    async def stream(self, interval_s: float) -> AsyncIterator[OvenSnapshot]:
        while True:
            yield await self.read()
            await self._clock.sleep(interval_s)


def decode_snapshot(image: list[int], run_id: int, tool_id: str = "oven") -> OvenSnapshot:
    """Decode the input-register image; values outside their documented range are garbled."""
    state_code = image[reg.PROGRAM_STATE.address]
    if state_code not in reg.PROGRAM_STATES:
        raise GarbledResponse(f"{tool_id}: program_state = {state_code} is not a documented state")
    zones = image[reg.ZONE_COUNT.address]
    if not 1 <= zones <= reg.MAX_ZONES:
        raise GarbledResponse(f"{tool_id}: zone_count = {zones} outside 1..{reg.MAX_ZONES}")
    temps = tuple(
        decode_float32(image, reg.zone_temp_address(z) - reg.INPUT_BASE)
        for z in range(1, zones + 1)
    )
    for z, t in enumerate(temps, start=1):
        if not math.isnan(t) and not -50.0 <= t <= 1000.0:
            raise GarbledResponse(f"{tool_id}: zone {z} temperature {t} °C outside -50..1000 °C")
    o2 = decode_float32(image, reg.O2_PPM.address)
    n2 = decode_float32(image, reg.N2_FLOW.address)
    if not 0.0 <= o2 <= 1_000_000.0:
        raise GarbledResponse(f"{tool_id}: o2_ppm = {o2} outside 0..1e6 ppm")
    return OvenSnapshot(
        state=ProgramState(state_code),
        segment=decode_int16(image[reg.SEGMENT_INDEX.address]),
        program_time_s=decode_float32(image, reg.PROGRAM_TIME.address),
        setpoint_c=decode_float32(image, reg.SETPOINT.address),
        zones_c=temps,
        o2_ppm=o2,
        n2_flow_lpm=n2,
        door_open=bool(image[reg.DOOR_OPEN.address]),
        alarm_bits=image[reg.ALARM_BITS.address],
        run_id=run_id,
    )
