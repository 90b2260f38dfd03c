"""Build drivers from the line config. The only place that knows transports."""

from __future__ import annotations

import os

from drivers.core.clock import Clock
from drivers.core.plater import Plater
from drivers.core.press import MoldingPress
from drivers.cure_oven.driver import ModbusOven
from drivers.modbus.transport import ModbusTransport
from drivers.molding_press import nodes as press_nodes
from drivers.molding_press.driver import OpcUaPress
from drivers.opcua.security import SecurityConfig
from drivers.opcua.transport import OpcUaTransport
from drivers.plater import nodes as plater_nodes
from drivers.plater.driver import OpcUaPlater
from mes.daemon.config import ToolSection
from mes.domain.errors import InvalidInput


def build_oven(tool: ToolSection, clock: Clock) -> ModbusOven:
    transport = ModbusTransport(
        tool.host, tool.port, unit=tool.unit, timeout_s=tool.timeout_s, clock=clock, name=tool.id
    )
    return ModbusOven(tool.id, transport, clock)


def _opcua_transport(tool: ToolSection, clock: Clock, path: str) -> OpcUaTransport:
    """OPC UA: Sign&Encrypt with a pinned server certificate unless opted out."""
    sec = tool.security
    assert sec is not None  # the config requires it for OPC UA tools
    password = None
    if sec.password_env is not None:
        password = os.environ.get(sec.password_env)
        if password is None:
            raise InvalidInput(
                f"tools[{tool.id}].security.password_env: environment variable "
                f"{sec.password_env} is not set"
            )
    if sec.mode == "none":
        security = SecurityConfig.insecure(sec.username, password)
    else:
        assert sec.server_cert is not None
        security = SecurityConfig.with_client_dir(
            sec.client_cert_dir, sec.server_cert, sec.username, password
        )
    endpoint = f"opc.tcp://{tool.host}:{tool.port}{path}"
    return OpcUaTransport(
        endpoint, security=security, timeout_s=tool.timeout_s, clock=clock, name=tool.id
    )


def build_press(tool: ToolSection, clock: Clock) -> MoldingPress:
    return OpcUaPress(tool.id, _opcua_transport(tool, clock, press_nodes.ENDPOINT_PATH))


def build_plater(tool: ToolSection, clock: Clock) -> Plater:
    transport = _opcua_transport(tool, clock, plater_nodes.ENDPOINT_PATH)
    return OpcUaPlater(tool.id, transport, cells=tool.cells or plater_nodes.CELLS)
