"""Oven read: the driver's full snapshot against the raw pymodbus read, on the simulator.

pkgline's snapshot is two requests (the input image, then the run id) plus decoding; the
baseline is one raw read of the same 40 input registers. Expect a ratio near 2.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from pymodbus.client import AsyncModbusTcpClient

from drivers.cure_oven.driver import ModbusOven
from drivers.modbus.transport import ModbusTransport
from simulators.oven.server import OvenSimulator

READS = 500


@dataclass(frozen=True)
class ReadTimes:
    reads: int
    ours_s: float  # median seconds per snapshot
    raw_s: float  # median seconds per raw 40-register read

    @property
    def ratio(self) -> float:
        return self.ours_s / self.raw_s


async def _measure(reads: int) -> ReadTimes:
    async with OvenSimulator("127.0.0.1", 0, speed=1.0) as sim:
        oven = ModbusOven("OVEN", ModbusTransport("127.0.0.1", sim.port))
        await oven.connect()
        raw = AsyncModbusTcpClient("127.0.0.1", port=sim.port)
        await raw.connect()
        ours, base = [], []
        try:
            for _ in range(reads):
                t0 = time.perf_counter()
                await oven.read()
                ours.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await raw.read_input_registers(0, count=40, device_id=1)
                base.append(time.perf_counter() - t0)
        finally:
            raw.close()
            await oven.close()
    return ReadTimes(reads, statistics.median(ours), statistics.median(base))


def measure(reads: int = READS) -> ReadTimes:
    return asyncio.run(_measure(reads))
