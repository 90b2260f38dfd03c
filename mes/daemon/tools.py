"""Build drivers from the line config. The only place that knows transports."""

from __future__ import annotations

from drivers.core.clock import Clock
from drivers.core.press import MoldingPress
from drivers.cure_oven.driver import ModbusOven
from drivers.modbus.transport import ModbusTransport
from mes.daemon.config import ToolSection


def build_oven(tool: ToolSection, clock: Clock) -> ModbusOven:
    transport = ModbusTransport(
        tool.host, tool.port, unit=tool.unit, timeout_s=tool.timeout_s, clock=clock, name=tool.id
    )
    return ModbusOven(tool.id, transport, clock)


def build_press(tool: ToolSection, clock: Clock) -> MoldingPress:
    raise NotImplementedError("OPC UA press driver wiring: see build_press")
