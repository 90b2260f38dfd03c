"""OPC UA connection errors that retrying will not fix: trust, identity, security policy.

They are `DriverError`s but not `ToolUnavailable`: a supervisor that treats
`ToolUnavailable` as "wait and try again" must not wait out a wrong password or
a swapped server certificate; an operator has to change the configuration.
"""

from __future__ import annotations

from drivers.core.errors import DriverError


class OpcUaSecurityError(DriverError):
    """The connection was refused for a security reason (configuration must change)."""


class UntrustedServer(OpcUaSecurityError):
    """The server's certificate is not the pinned one: possibly a different or spoofed tool."""


class AuthenticationFailed(OpcUaSecurityError):
    """The server refused the user identity (wrong password, unknown user, anonymous)."""


class SecurityRejected(OpcUaSecurityError):
    """The server offers no endpoint with our policy/mode, or refused our client certificate."""
