"""OPC UA transport: a secured, self-healing asyncua client session for one tool."""

from drivers.opcua.errors import (
    AuthenticationFailed,
    OpcUaSecurityError,
    SecurityRejected,
    UntrustedServer,
)
from drivers.opcua.security import (
    SecurityConfig,
    SecurityMode,
    SecurityPolicy,
    ensure_client_certificate,
    fingerprint,
)
from drivers.opcua.subscription import DataSubscription, EventSubscription
from drivers.opcua.transport import OpcUaTransport
from drivers.opcua.values import ConnectionGap, OpcUaEvent, Typed

__all__ = [
    "AuthenticationFailed",
    "ConnectionGap",
    "DataSubscription",
    "EventSubscription",
    "OpcUaEvent",
    "OpcUaSecurityError",
    "OpcUaTransport",
    "SecurityConfig",
    "SecurityMode",
    "SecurityPolicy",
    "SecurityRejected",
    "Typed",
    "UntrustedServer",
    "ensure_client_certificate",
    "fingerprint",
]
