"""Capability protocols and transport-independent types shared by all drivers."""

from drivers.core.clock import Clock, MonotonicClock, ScaledClock
from drivers.core.errors import (
    DriverError,
    GarbledResponse,
    ProtocolError,
    ToolRejected,
    ToolUnavailable,
)
from drivers.core.oven import Oven, OvenProgramSegment, OvenSnapshot, ProgramState

__all__ = [
    "Clock",
    "DriverError",
    "GarbledResponse",
    "MonotonicClock",
    "Oven",
    "OvenProgramSegment",
    "OvenSnapshot",
    "ProgramState",
    "ProtocolError",
    "ScaledClock",
    "ToolRejected",
    "ToolUnavailable",
]
