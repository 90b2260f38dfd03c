"""Modbus TCP transport: one connection to one device, with reconnect, timeouts and typed errors."""

from drivers.modbus.codec import (
    decode_float32,
    decode_int16,
    decode_uint32,
    encode_float32,
    encode_uint32,
)
from drivers.modbus.transport import ModbusTransport

__all__ = [
    "ModbusTransport",
    "decode_float32",
    "decode_int16",
    "decode_uint32",
    "encode_float32",
    "encode_uint32",
]
