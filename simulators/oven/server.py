"""The cure-oven simulator on the network: an OvenPlant behind a real pymodbus TCP server.

pymodbus 3.16 serves a `SimDevice` (its `ModbusDeviceContext` / data blocks are
deprecated shims converted to one) and calls the device's `action` coroutine
on every access before it touches its register lists; whatever `ExcCodes`
member the action returns goes back to the client as a Modbus exception
response. That hook is the whole adapter: reads refresh the requested block
from the plant, writes are checked against the register map and applied to
the plant, or refused with 0x02 / 0x03 / 0x06 and nothing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterable
from types import TracebackType
from typing import Self, cast

import structlog
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.cure_oven import registers as reg
from simulators.clock import SimClock
from simulators.errors import SimConfigError
from simulators.oven import model, wire
from simulators.oven.faults import Fault, FaultKind, parse_fault
from simulators.oven.plant import OvenPlant, OvenReadings
from simulators.oven.program import ControllerBusyError, InvalidProgramError
from simulators.physics import emc

log = structlog.get_logger("simulators.oven")

_READ_INPUT = 4
_WRITE_SINGLE = 6
_BIT_FUNCTIONS = frozenset({1, 2, 5, 15})  # coils / discrete inputs: the oven has none
TICK_WALL_S = 0.01  # how often the background task catches the plant up to the clock


class OvenSimulator:
    """A simulated cure oven serving registers.py over Modbus TCP.

    `async with OvenSimulator("127.0.0.1", port, speed=600) as sim:` starts the
    server and the physics; `sim.port` is the port actually bound (pass 0 for
    any free port). Faults: spec strings or `Fault`s, at start or via `inject`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5020,
        *,
        speed: float = 1.0,
        zones: int = 4,
        faults: Iterable[Fault | str] = (),
        seed: int = 0,
        params: model.OvenParams | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise SimConfigError(f"port must be 0..65535, got {port}")
        if not 1 <= zones <= reg.MAX_ZONES:
            raise SimConfigError(f"zones must be 1..{reg.MAX_ZONES}, got {zones}")
        self.host = host
        self._requested_port = port
        self._clock = SimClock(speed)  # validates speed; restarted in start()
        params = dataclasses.replace(params or model.OvenParams(), zones=zones)
        self.plant = OvenPlant(params, [self._fault(f, zones) for f in faults], seed)
        self.holding = wire.HoldingImage(self.plant.n2_setpoint_lpm)
        self._server: ModbusTcpServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_sim_s = 0.0
        self._port: int | None = None

    @staticmethod
    def _fault(fault: Fault | str, zones: int) -> Fault:
        return parse_fault(fault, zones) if isinstance(fault, str) else fault

    # --- lifecycle ----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the server listens on (known after start)."""
        if self._port is None:
            raise RuntimeError("simulator not started")
        return self._port

    @property
    def speed(self) -> float:
        return self._clock.speed

    async def start(self) -> None:
        """Bind the port and start stepping the physics on the scaled clock."""
        if self._server is not None:
            return
        device = SimDevice(
            id=0,  # 0: answer every unit id (the documented unit id is 1)
            simdata=(
                [SimData(0, count=16, values=False, datatype=DataType.BITS)],
                [SimData(0, count=16, values=False, datatype=DataType.BITS)],
                [SimData(reg.HOLDING_BASE, count=reg.HOLDING_COUNT, datatype=DataType.REGISTERS)],
                [SimData(reg.INPUT_BASE, count=reg.INPUT_COUNT, datatype=DataType.REGISTERS)],
            ),
            action=self._action,
        )
        server = ModbusTcpServer(device, address=(self.host, self._requested_port))
        try:
            await server.serve_forever(background=True)
        except RuntimeError:
            await server.shutdown()  # type: ignore[no-untyped-call]
            raise SimConfigError(
                f"port {self._requested_port}: cannot listen on {self.host}:{self._requested_port}"
                " (in use, or not an address of this host)"
            ) from None
        self._server = server
        listener = cast(asyncio.Server, server.transport)  # a listener's transport is the Server
        self._port = int(listener.sockets[0].getsockname()[1])
        self._clock = SimClock(self._clock.speed)
        self._last_sim_s = 0.0
        self._task = asyncio.create_task(self._run(), name="oven-sim-physics")
        log.info(
            "oven simulator listening",
            host=self.host,
            port=self._port,
            speed=self._clock.speed,
            zones=self.plant.params.zones,
            faults=[str(f) for f in self.plant.faults.faults],
        )

    async def stop(self) -> None:
        """Stop the physics task and close the server and its connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
            log.info("oven simulator stopped", port=self._port)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_WALL_S)
            self._catch_up()

    def _catch_up(self) -> None:
        """Advance the plant to the clock's now (reads call this too, so values are fresh)."""
        if self._server is None:
            return
        now = self._clock.now()
        if now > self._last_sim_s:
            self.plant.advance(now - self._last_sim_s)
            self._last_sim_s = now

    # --- Python API (tests, demo) ---------------------------------------------------

    def truth(self) -> model.OvenState:
        """The model's true state (zone temperatures without noise, O2, flows)."""
        self._catch_up()
        return self.plant.state

    def load_emc(self, alpha0: float, params: emc.EmcParams | None = None) -> None:
        """Load molded wafers whose EMC is at degree of cure `alpha0` (post-mold cure truth)."""
        self._catch_up()
        self.plant.load_emc(alpha0, params)

    def load_alpha(self) -> float | None:
        """The loaded EMC's degree of cure now (None without a load): the truth after PMC."""
        self._catch_up()
        return self.plant.load_alpha

    def readings(self) -> OvenReadings:
        """What the input registers carry now, in engineering units."""
        self._catch_up()
        return self.plant.readings()

    def inject(self, fault: Fault | str) -> Fault:
        """Switch a fault on now (or arm it, with `at=`); returns the parsed fault."""
        self._catch_up()
        parsed = self._fault(fault, self.plant.params.zones)
        self.plant.inject(parsed)
        return parsed

    def clear(self, kind: FaultKind | str | None = None, zone: int | None = None) -> list[Fault]:
        """Switch faults off: all, or those of `kind` (and `zone`); returns them."""
        self._catch_up()
        return self.plant.clear(kind, zone)

    # --- Modbus adapter ---------------------------------------------------------------

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus SimDevice hook: refresh what is read, check and apply what is written."""
        if function_code in _BIT_FUNCTIONS:
            return ExcCodes.ILLEGAL_ADDRESS
        self._catch_up()
        try:
            if function_code == _READ_INPUT:
                registers[: reg.INPUT_COUNT] = wire.encode_inputs(self.plant.readings())
            elif set_values is not None:
                self._write(address, [int(v) for v in set_values])
            elif function_code != _WRITE_SINGLE:
                # (FC 6 reads back to echo the request: keep the words just written.)
                at = address - start_address
                registers[at : at + count] = self.holding.read(address, count)
        except wire.IllegalAddressError as exc:
            return _refuse(function_code, address, ExcCodes.ILLEGAL_ADDRESS, exc)
        except (wire.IllegalValueError, InvalidProgramError) as exc:
            return _refuse(function_code, address, ExcCodes.ILLEGAL_VALUE, exc)
        except ControllerBusyError as exc:
            return _refuse(function_code, address, ExcCodes.DEVICE_BUSY, exc)
        return None

    def _write(self, address: int, values: list[int]) -> None:
        """Apply a holding-register write as one transaction: all of it, or nothing."""
        write = self.holding.plan(address, values)
        if write.touches_program and self.plant.program.running:
            raise ControllerBusyError("program is running; abort it before changing the program")
        command = int(write.fields.get(reg.COMMAND.name, 0))
        new_program = self.holding.segments(write.words)
        self.plant.check_command(command, new_program)
        self.holding.commit(write)
        if write.touches_program:
            self.plant.load_program(new_program)
        if reg.N2_SETPOINT.name in write.fields:
            self.plant.n2_setpoint_lpm = write.fields[reg.N2_SETPOINT.name]
        if command:
            self.plant.command(command)


def _refuse(function_code: int, address: int, code: ExcCodes, why: Exception) -> ExcCodes:
    log.info(
        "request refused",
        function_code=function_code,
        address=address,
        code=f"0x{code:02X} {code.name}",
        reason=str(why),
    )
    return code
