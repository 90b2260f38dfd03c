"""Modbus TCP transport over pymodbus's async client.

One transport is one connection to one unit. It never blocks a caller for
longer than its timeout: when the tool is unreachable, calls fail fast with
`ToolUnavailable` and reconnect attempts follow an exponential backoff, so a
supervisor polling in a loop keeps its rhythm while the tool is away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ExceptionResponse, ModbusPDU

from drivers.core.clock import Clock, MonotonicClock
from drivers.core.errors import GarbledResponse, ProtocolError, ToolRejected, ToolUnavailable

log = structlog.get_logger(__name__)

# Modbus exception codes (Modbus Application Protocol v1.1b3, §7).
EXCEPTION_TEXT = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
REJECTION_CODES = {3, 6}  # the tool understood and refused: a value or a state problem


def _raise_if_cancelled() -> None:
    """Honour a cancellation that pymodbus swallowed.

    On Python 3.11, asyncio.wait_for (which pymodbus awaits the answer with) returns the
    result instead of raising when the cancellation lands as the answer arrives. The task
    still counts the cancellation, so raise it here: otherwise a cancelled poll loop goes on
    polling (a daemon that did not stop on SIGTERM).
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class ModbusTransport:
    """A supervised Modbus TCP connection with backoff reconnect and typed errors."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        unit: int = 1,
        timeout_s: float = 1.0,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 10.0,
        clock: Clock | None = None,
        name: str = "modbus",
    ) -> None:
        self.host = host
        self.port = port
        self.unit = unit
        self.timeout_s = timeout_s
        self.name = name
        self._clock: Clock = clock or MonotonicClock()
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._backoff = backoff_initial_s
        self._next_attempt = 0.0
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self.reconnects = 0
        self._connected_once = False

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def connect(self) -> None:
        """Connect now if the backoff allows it, else raise `ToolUnavailable`."""
        if self.connected:
            return
        now = self._clock.monotonic()
        if now < self._next_attempt:
            raise ToolUnavailable(
                f"{self.name}: {self.host}:{self.port} unreachable; next retry in "
                f"{self._next_attempt - now:.1f} s"
            )
        # reconnect_delay=0 switches pymodbus's own reconnect off: we own the policy.
        client = AsyncModbusTcpClient(
            self.host, port=self.port, timeout=self.timeout_s, retries=0, reconnect_delay=0
        )
        try:
            async with asyncio.timeout(self.timeout_s):
                ok = await client.connect()
            _raise_if_cancelled()
        except (TimeoutError, OSError, ModbusException) as exc:
            ok = False
            log.debug("modbus_connect_error", tool=self.name, error=str(exc))
        except asyncio.CancelledError:
            client.close()
            raise
        if not ok:
            client.close()
            self._schedule_retry()
            raise ToolUnavailable(f"{self.name}: cannot connect to {self.host}:{self.port}")
        if self._connected_once:
            self.reconnects += 1
        self._connected_once = True
        self._client = client
        self._backoff = self._backoff_initial
        self._next_attempt = 0.0
        log.info("modbus_connected", tool=self.name, host=self.host, port=self.port)

    def _schedule_retry(self) -> None:
        self._next_attempt = self._clock.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self._backoff_max)

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _drop(self, reason: str) -> None:
        """Forget a broken connection; the next call reconnects (after backoff)."""
        log.warning("modbus_connection_lost", tool=self.name, reason=reason)
        if self._client is not None:
            self._client.close()
        self._client = None
        self._schedule_retry()

    async def read_input(self, address: int, count: int) -> list[int]:
        """Read `count` input registers (function 04)."""
        return await self._call(
            "read input registers",
            address,
            count,
            lambda c: c.read_input_registers(address, count=count, device_id=self.unit),
        )

    async def read_holding(self, address: int, count: int) -> list[int]:
        """Read `count` holding registers (function 03)."""
        return await self._call(
            "read holding registers",
            address,
            count,
            lambda c: c.read_holding_registers(address, count=count, device_id=self.unit),
        )

    async def write(self, address: int, values: list[int]) -> None:
        """Write holding registers (function 16)."""
        await self._call(
            "write registers",
            address,
            None,
            lambda c: c.write_registers(address, values, device_id=self.unit),
        )

    async def _call(
        self,
        what: str,
        address: int,
        count: int | None,
        request: Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]],
    ) -> list[int]:
        async with self._lock:
            await self.connect()
            assert self._client is not None
            try:
                async with asyncio.timeout(self.timeout_s):
                    response = await request(self._client)
                _raise_if_cancelled()
            except TimeoutError:
                self._drop("timeout")
                raise ToolUnavailable(
                    f"{self.name}: no answer to {what} at {address} within {self.timeout_s} s"
                ) from None
            except (ConnectionException, OSError) as exc:
                self._drop(str(exc))
                raise ToolUnavailable(f"{self.name}: connection lost during {what}") from exc
            except ModbusIOException as exc:
                # pymodbus reports undecodable frames as IO errors; the stream is out
                # of step, so drop the connection and start clean.
                self._drop(str(exc))
                raise GarbledResponse(
                    f"{self.name}: garbled answer to {what} at {address}"
                ) from exc
            except ModbusException as exc:
                self._drop(str(exc))
                raise ProtocolError(f"{self.name}: {what} at {address} failed: {exc}") from exc
        if isinstance(response, ExceptionResponse) or response.isError():
            code = int(getattr(response, "exception_code", 0))
            text = EXCEPTION_TEXT.get(code, "unknown exception")
            message = f"{self.name}: {what} at {address} refused: exception {code} ({text})"
            if code in REJECTION_CODES:
                raise ToolRejected(message)
            raise ProtocolError(message)
        if count is None:
            return []
        registers = list(getattr(response, "registers", []))
        if len(registers) != count:
            raise GarbledResponse(
                f"{self.name}: {what} at {address}: "
                f"expected {count} registers, got {len(registers)}"
            )
        return registers
