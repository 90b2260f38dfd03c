"""Transport-level value types: typed method arguments, events, connection gaps.

They keep asyncua out of the drivers that use the transport: a driver says
`Typed(run_id, "UInt32")`, the transport builds the variant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# OPC UA built-in type names a driver may ask for (a subset of VariantType).
TypeName = Literal[
    "Boolean",
    "SByte",
    "Byte",
    "Int16",
    "UInt16",
    "Int32",
    "UInt32",
    "Int64",
    "UInt64",
    "Float",
    "Double",
    "String",
    "DateTime",
    "ByteString",
]


@dataclass(frozen=True, slots=True)
class Typed:
    """A value with its OPC UA data type, for method arguments (servers check types)."""

    value: Any
    type: TypeName


@dataclass(frozen=True, slots=True)
class OpcUaEvent:
    """One event notification (e.g. an alarm) from a subscribed source node."""

    source: str  # the node id string the subscription was made on
    source_name: str
    event_type: str  # node id of the event type, as a string
    severity: int
    message: str
    time: datetime | None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConnectionGap:
    """A connection that was lost and came back: what a supervisor could not see."""

    transport: str  # the transport's name (the tool id)
    lost_at: datetime
    restored_at: datetime
    downtime_s: float  # on the transport's clock
    reason: str
    reconnects: int  # the transport's reconnect count, including this one
