"""ModbusTransport honours a cancellation that the library swallowed (no server needed)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import pytest

from drivers.modbus.transport import ModbusTransport


@dataclass
class Answer:
    registers: list[int] = field(default_factory=lambda: [7, 8])

    def isError(self) -> bool:
        return False


class SwallowingClient:
    """Answers a read, swallowing a cancellation that lands while it waits, as Python
    3.11's asyncio.wait_for inside pymodbus does when the answer arrives at that moment."""

    connected = True

    def __init__(self) -> None:
        self.waiting = asyncio.Event()

    async def read_input_registers(self, address: int, count: int, device_id: int) -> Answer:
        self.waiting.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)
        return Answer()

    def close(self) -> None:
        self.connected = False


async def test_a_swallowed_cancellation_still_cancels_the_read() -> None:
    transport = ModbusTransport("127.0.0.1", 1, timeout_s=30)
    client = SwallowingClient()
    transport._client = client  # type: ignore[assignment]
    read = asyncio.create_task(transport.read_input(0, 2))
    await client.waiting.wait()
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await read
    assert read.cancelled()


async def test_an_uncancelled_read_returns_the_answer() -> None:
    transport = ModbusTransport("127.0.0.1", 1, timeout_s=30)
    client = SwallowingClient()
    transport._client = client  # type: ignore[assignment]

    async def answer_soon(address: int, count: int, device_id: int) -> Answer:
        return Answer()

    client.read_input_registers = answer_soon  # type: ignore[method-assign]
    assert await transport.read_input(0, 2) == [7, 8]
