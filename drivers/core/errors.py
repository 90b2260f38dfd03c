"""Typed driver errors: what went wrong talking to a tool, in words an operator can act on."""


class DriverError(Exception):
    """Base of every error a driver raises."""


class ToolUnavailable(DriverError):
    """The tool cannot be reached (refused, timed out, connection dropped)."""


class ProtocolError(DriverError):
    """The tool answered with a protocol-level error (e.g. a Modbus exception response)."""


class GarbledResponse(ProtocolError):
    """The tool's answer could not be decoded or holds values outside their documented range."""


class ToolRejected(ProtocolError):
    """The tool refused a command or a value (e.g. a program while it is running)."""
