"""OPC UA client transport over asyncua's `Client`.

One transport is one session with one tool. Like the Modbus transport it never
blocks a caller for longer than its timeout: while the tool is unreachable,
calls fail fast with `ToolUnavailable` and reconnect attempts follow an
exponential backoff on the transport's clock. We own that policy: asyncua's
own auto-reconnect is off (it would park requests for up to a minute), its
connection supervisor is used only to *detect* a loss (socket closed, or the
keep-alive read of the server state failing).

Security is on by default (Basic256Sha256, Sign&Encrypt, user + password) and
the server must present exactly the pinned certificate, checked before any
credential is sent. Subscriptions are kept in a registry and re-created on
every new session, so a stream survives a tool restart; each reconnect is
counted and reported to listeners as a `ConnectionGap`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from asyncua import ua
from asyncua.client.client import Client
from asyncua.client.ua_client import UaClientState
from asyncua.crypto import security_policies, uacrypto
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes as SC  # noqa: N817
from asyncua.ua.uaerrors import UaError, UaStatusCodeError, UaStringParsingError

from drivers.core.clock import Clock, MonotonicClock
from drivers.core.errors import (
    DriverError,
    GarbledResponse,
    ProtocolError,
    ToolRejected,
    ToolUnavailable,
)
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
    der_of,
    describe,
    ensure_certificate_files,
    first_certificate,
    load_certificate,
)
from drivers.opcua.subscription import DataSubscription, EventSubscription, Resubscribing
from drivers.opcua.values import ConnectionGap, Typed

log = structlog.get_logger(__name__)

# The session or channel is gone: the request was not refused, it was never answered.
CONNECTION_LOST_CODES = frozenset(
    {
        SC.BadCommunicationError,
        SC.BadConnectionClosed,
        SC.BadDisconnect,
        SC.BadNoCommunication,
        SC.BadNotConnected,
        SC.BadSecureChannelClosed,
        SC.BadSecureChannelIdInvalid,
        SC.BadSecureChannelTokenUnknown,
        SC.BadServerHalted,
        SC.BadServerNotConnected,
        SC.BadSessionClosed,
        SC.BadSessionIdInvalid,
        SC.BadSessionNotActivated,
        SC.BadShutdown,
        SC.BadTcpSecureChannelUnknown,
    }
)
AUTH_REFUSED_CODES = frozenset(
    {SC.BadUserAccessDenied, SC.BadIdentityTokenInvalid, SC.BadIdentityTokenRejected}
)
SECURITY_REFUSED_CODES = frozenset(
    {
        SC.BadSecurityChecksFailed,
        SC.BadCertificateInvalid,
        SC.BadCertificateTimeInvalid,
        SC.BadCertificateHostNameInvalid,
        SC.BadCertificateUriInvalid,
        SC.BadCertificateUseNotAllowed,
        SC.BadCertificateUntrusted,
        SC.BadCertificateRevoked,
        SC.BadCertificateRevocationUnknown,
        SC.BadCertificatePolicyCheckFailed,
        SC.BadSecurityModeRejected,
        SC.BadSecurityPolicyRejected,
        SC.BadSecurityModeInsufficient,
        SC.BadNoValidCertificates,
        SC.BadApplicationSignatureInvalid,
    }
)

_POLICY_CLASSES: dict[SecurityPolicy, Any] = {
    SecurityPolicy.BASIC256SHA256: security_policies.SecurityPolicyBasic256Sha256,
    SecurityPolicy.AES128_SHA256_RSAOAEP: security_policies.SecurityPolicyAes128Sha256RsaOaep,
    SecurityPolicy.AES256_SHA256_RSAPSS: security_policies.SecurityPolicyAes256Sha256RsaPss,
}
_MODES = {
    SecurityMode.NONE: ua.MessageSecurityMode.None_,
    SecurityMode.SIGN: ua.MessageSecurityMode.Sign,
    SecurityMode.SIGN_AND_ENCRYPT: ua.MessageSecurityMode.SignAndEncrypt,
}

ReconnectListener = Callable[[ConnectionGap], None]


def status_text(code: int) -> str:
    """'BadInvalidState (The operation cannot be completed ...)' for a status code."""
    status = ua.StatusCode(ua.UInt32(code))
    return f"{status.name} ({status.doc.rstrip('.')})"


def short_name(node_id: str) -> str:
    """'Press.LoadJob' for 'nsu=urn:...;s=Press.LoadJob': the part a person reads."""
    _, sep, ident = node_id.partition(";s=")
    return ident if sep else node_id


def to_variant(value: Any) -> ua.Variant:
    """A method argument as a variant: `Typed` gives the wire type explicitly."""
    if isinstance(value, ua.Variant):
        return value
    if isinstance(value, Typed):
        return ua.Variant(value.value, ua.VariantType[value.type])
    return ua.Variant(value)


def _read_client_pair(sec: SecurityConfig) -> tuple[bytes, uacrypto.CertProperties]:
    """Our certificate as DER and our key with its encoding, whatever the file names say."""
    assert sec.client_cert is not None
    assert sec.client_key is not None
    cert = der_of(load_certificate(sec.client_cert))
    key = sec.client_key.read_bytes()
    encoding = "pem" if key.lstrip().startswith(b"-----BEGIN") else "der"
    return cert, uacrypto.CertProperties(key, extension=encoding)


@dataclass(eq=False)
class Connection:
    """One live session: the asyncua client, its generation and its namespace table."""

    client: Client
    generation: int
    namespaces: list[str]
    owner: str
    resolved: dict[str, ua.NodeId] = field(default_factory=dict)
    retired: bool = False

    @property
    def alive(self) -> bool:
        return not self.retired and self.client.state is UaClientState.CONNECTED

    def resolve(self, node_id: str) -> ua.NodeId:
        """Node id string to NodeId; `nsu=<uri>;...` is resolved against this session's table.

        Namespace indexes are per server start, so a driver names the namespace by URI
        and the index is looked up at connect time, never assumed.
        """
        cached = self.resolved.get(node_id)
        if cached is not None:
            return cached
        try:
            parsed = ua.NodeId.from_string(node_id)
        except UaStringParsingError as exc:
            raise ValueError(f"{node_id!r} is not an OPC UA node id") from exc
        uri = getattr(parsed, "NamespaceUri", None)
        if uri:
            if uri not in self.namespaces:
                raise ProtocolError(
                    f"{self.owner}: server has no namespace {uri!r} (needed for {node_id}); "
                    f"it has {self.namespaces}"
                )
            index = self.namespaces.index(uri)
        else:
            index = parsed.NamespaceIndex
        resolved = ua.NodeId(parsed.Identifier, ua.Int16(index), parsed.NodeIdType)
        self.resolved[node_id] = resolved
        return resolved


class OpcUaTransport:
    """A supervised, secured OPC UA session with backoff reconnect and typed errors."""

    def __init__(
        self,
        endpoint: str,
        *,
        security: SecurityConfig,
        timeout_s: float = 2.0,
        connect_timeout_s: float | None = None,
        keepalive_s: float = 1.0,
        session_timeout_s: float = 60.0,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 10.0,
        clock: Clock | None = None,
        name: str = "opcua",
        on_reconnect: ReconnectListener | None = None,
    ) -> None:
        if not endpoint.startswith("opc.tcp://"):
            raise ValueError(f"endpoint must be an opc.tcp:// URL, got {endpoint!r}")
        self.endpoint = endpoint
        self.security = security
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s or max(5.0, 4 * timeout_s)
        self.keepalive_s = keepalive_s
        self.session_timeout_s = session_timeout_s
        self.name = name
        self._clock: Clock = clock or MonotonicClock()
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._backoff = backoff_initial_s
        self._next_attempt = 0.0
        self._last_error: DriverError | None = None
        self._conn: Connection | None = None
        self._generation = 0
        self._connect_lock = asyncio.Lock()
        self._closed = False  # set by close(); subscriptions do not reopen a closed transport
        self._subscriptions: list[Resubscribing] = []
        self._disposals: set[asyncio.Task[None]] = set()
        self._listeners: list[ReconnectListener] = [on_reconnect] if on_reconnect else []
        self._lost_at: tuple[float, datetime] | None = None
        self._lost_reason = ""
        self.reconnects = 0
        self.last_gap: ConnectionGap | None = None

    # --- state ----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._conn.alive

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def generation(self) -> int:
        """Increments with every new session (the first one is 1)."""
        return self._generation

    @property
    def retry_in_s(self) -> float:
        """Clock seconds until the next connection attempt is allowed (0 if now)."""
        return max(0.0, self._next_attempt - self._clock.monotonic())

    @property
    def lost_since(self) -> datetime | None:
        """When the current outage began (None while connected or before a first loss)."""
        return self._lost_at[1] if self._lost_at is not None else None

    def add_reconnect_listener(self, listener: ReconnectListener) -> None:
        """Call `listener(gap)` after every reconnect (not the first connect)."""
        self._listeners.append(listener)

    async def __aenter__(self) -> OpcUaTransport:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- connecting -----------------------------------------------------------

    async def connect(self) -> None:
        """Connect now if the backoff allows it, else raise `ToolUnavailable` at once.

        A connection refused for a security reason raises an `OpcUaSecurityError`
        (again during its backoff), never `ToolUnavailable`.
        """
        self._closed = False
        if self.connected:
            return
        if self._connect_lock.locked():
            raise ToolUnavailable(f"{self.name}: connecting to {self.endpoint}; try again")
        async with self._connect_lock:
            await self._connect_locked()

    async def connection(self, *, resume: bool = False) -> Connection:
        """The live connection, waiting for a connection attempt in progress (one attempt).

        `resume=True` is a subscription coming back after a loss: it never reopens a
        transport that was closed meanwhile (that raises ToolUnavailable).
        """
        if not resume:
            self._closed = False
        conn = self._conn
        if conn is not None and conn.alive:
            return conn
        async with self._connect_lock:
            if self._closed:
                raise ToolUnavailable(f"{self.name}: transport closed")
            await self._connect_locked()
        assert self._conn is not None
        return self._conn

    async def _connect_locked(self) -> None:
        conn = self._conn
        if conn is not None:
            if conn.alive:
                return
            self._lost(conn, "connection found closed")
        now = self._clock.monotonic()
        if now < self._next_attempt:
            raise self._backoff_error(now)
        try:
            conn = await self._open()
        except DriverError as exc:
            self._last_error = exc
            self._schedule_retry()
            raise
        self._last_error = None
        self._backoff = self._backoff_initial
        self._next_attempt = 0.0
        self._conn = conn
        log.info("opcua_connected", tool=self.name, endpoint=self.endpoint, session=conn.generation)
        await self._resubscribe(conn)
        if self._lost_at is not None:
            lost_mono, lost_wall = self._lost_at
            self._lost_at = None
            self.reconnects += 1
            gap = ConnectionGap(
                transport=self.name,
                lost_at=lost_wall,
                restored_at=self._clock.now(),
                downtime_s=self._clock.monotonic() - lost_mono,
                reason=self._lost_reason,
                reconnects=self.reconnects,
            )
            self.last_gap = gap
            log.warning(
                "opcua_reconnected",
                tool=self.name,
                reconnects=self.reconnects,
                downtime_s=round(gap.downtime_s, 3),
                reason=gap.reason,
            )
            for listener in list(self._listeners):
                try:
                    listener(gap)
                except Exception:
                    log.exception("opcua_reconnect_listener_failed", tool=self.name)

    def _backoff_error(self, now: float) -> DriverError:
        wait = f"next retry in {self._next_attempt - now:.1f} s"
        last = self._last_error
        if isinstance(last, OpcUaSecurityError):
            return type(last)(f"{last} ({wait})")
        return ToolUnavailable(f"{self.name}: {self.endpoint} unreachable; {wait}")

    def _schedule_retry(self) -> None:
        self._next_attempt = self._clock.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self._backoff_max)

    async def _open(self) -> Connection:
        client = Client(self.endpoint, timeout=self.timeout_s, watchdog_intervall=self.keepalive_s)
        client.application_uri = self.security.app_uri
        client.name = client.description = f"pkgline {self.name}"
        client.session_timeout = int(self.session_timeout_s * 1000)
        client.connection_lost_callback = self._loss_callback(client)
        started = False
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                if self.security.secure:
                    await self._apply_security(client)
                if self.security.username is not None:
                    client.set_user(self.security.username)
                    client.set_password(self.security.password or "")
                await client.connect()
                started = True
                namespaces = list(await client.get_namespace_array())
        except BaseException as exc:
            await self._dispose(client, started=started)
            if isinstance(exc, Exception):
                raise self._connect_error(exc) from exc
            raise
        self._generation += 1
        return Connection(client, self._generation, namespaces, self.name)

    async def _apply_security(self, client: Client) -> None:
        """Check the server's certificate against the pinned one, then set up the channel."""
        sec = self.security
        assert sec.client_cert is not None
        assert sec.client_key is not None
        assert sec.server_cert is not None
        if not (sec.client_cert.is_file() and sec.client_key.is_file()):
            await asyncio.to_thread(
                ensure_certificate_files, sec.client_cert, sec.client_key, sec.app_uri
            )
        try:
            pinned = der_of(await asyncio.to_thread(load_certificate, sec.server_cert))
        except (OSError, ValueError) as exc:
            raise UntrustedServer(
                f"{self.name}: cannot load the pinned server certificate {sec.server_cert}: {exc}"
            ) from exc
        policy = _POLICY_CLASSES[sec.policy]
        mode = _MODES[sec.mode]
        # GetEndpoints runs over an unsecured channel, as discovery does; we send nothing
        # secret on it. The secure channel that follows is encrypted to the *pinned*
        # key, so a server that merely copies the pinned certificate into its endpoint
        # list still cannot open it (and asyncua compares it again at CreateSession).
        endpoints = await client.connect_and_get_server_endpoints()
        matching = [
            ep for ep in endpoints if ep.SecurityMode == mode and ep.SecurityPolicyUri == policy.URI
        ]
        if not matching:
            offered = sorted(
                {
                    f"{ep.SecurityPolicyUri.rsplit('#', 1)[-1]}/{ep.SecurityMode.name}"
                    for ep in endpoints
                }
            )
            raise SecurityRejected(
                f"{self.name}: {self.endpoint} offers no {sec.policy.value}/{sec.mode.value} "
                f"endpoint (it offers {', '.join(offered) or 'none'})"
            )
        presented = first_certificate(bytes(matching[0].ServerCertificate or b""))
        if presented != pinned:
            raise UntrustedServer(
                f"{self.name}: {self.endpoint} presented certificate "
                f"{describe(presented) if presented else '(none)'}, but the pinned certificate "
                f"{sec.server_cert} is {describe(pinned)}; refusing to connect"
            )
        own_cert, own_key = await asyncio.to_thread(_read_client_pair, sec)
        await client.set_security(
            policy,
            certificate=own_cert,
            private_key=own_key,
            server_certificate=pinned,
            mode=mode,
        )

    def _connect_error(self, exc: Exception) -> DriverError:
        where = f"{self.name}: {self.endpoint}"
        if isinstance(exc, DriverError):
            return exc
        if isinstance(exc, TimeoutError):
            return ToolUnavailable(f"{where}: no connection within {self.connect_timeout_s} s")
        if isinstance(exc, OSError):  # includes ConnectionError (refused, reset)
            return ToolUnavailable(f"{where}: cannot connect ({exc.strerror or exc!r})")
        if isinstance(exc, UaStatusCodeError):
            code = exc.code
            if code in AUTH_REFUSED_CODES:
                who = (
                    f"user {self.security.username!r}"
                    if self.security.username is not None
                    else "an anonymous session"
                )
                return AuthenticationFailed(f"{where} refused {who}: {status_text(code)}")
            if code in SECURITY_REFUSED_CODES:
                return SecurityRejected(
                    f"{where} refused the secure channel: {status_text(code)} "
                    f"(is our client certificate {self.security.client_cert} trusted by the tool?)"
                )
            if code in CONNECTION_LOST_CODES:
                return ToolUnavailable(
                    f"{where}: connection lost while connecting: {status_text(code)}"
                )
            return ProtocolError(f"{where}: connect failed: {status_text(code)}")
        if isinstance(exc, UaError) and "no matching endpoints" in str(exc).lower():
            return SecurityRejected(
                f"{where} offers no endpoint with security mode {self.security.mode.value} ({exc})"
            )
        if isinstance(exc, UaError) and "certificate mismatch" in str(exc).lower():
            return UntrustedServer(
                f"{where}: the certificate in the session response differs from the pinned "
                f"{self.security.server_cert}; refusing to connect"
            )
        if isinstance(exc, UaError | ValueError):
            return ProtocolError(f"{where}: connect failed: {exc}")
        return ToolUnavailable(f"{where}: cannot connect ({exc!r})")

    # --- losing and closing ---------------------------------------------------

    def _loss_callback(self, client: Client) -> Callable[[Exception], Coroutine[Any, Any, None]]:
        async def on_lost(exc: Exception) -> None:
            conn = self._conn
            if conn is not None and conn.client is client:
                self._lost(conn, f"keep-alive: {exc!r}")

        return on_lost

    def lost(self, conn: Connection, reason: str) -> None:
        """Forget a broken connection (idempotent); the next call reconnects after backoff."""
        self._lost(conn, reason)

    def _lost(self, conn: Connection, reason: str) -> None:
        if conn.retired:
            return
        conn.retired = True
        if self._conn is conn:
            self._conn = None
        if self._lost_at is None:
            self._lost_at = (self._clock.monotonic(), self._clock.now())
            self._lost_reason = reason
        self._schedule_retry()
        log.warning("opcua_connection_lost", tool=self.name, endpoint=self.endpoint, reason=reason)
        # Teardown awaits, and this runs in sync code paths (and inside asyncua's own
        # supervisor task, which the teardown cancels), so it gets a task of its own.
        task = asyncio.create_task(self._retire(conn), name=f"opcua-retire-{self.name}")
        self._disposals.add(task)
        task.add_done_callback(self._disposals.discard)

    async def _retire(self, conn: Connection) -> None:
        # Wake every subscription still reading this session's queues (asyncua's
        # supervisor does the same on a detected loss; twice is harmless).
        with contextlib.suppress(Exception):
            await conn.client.uaclient.inform_subscriptions(
                ua.StatusCode(ua.UInt32(SC.BadShutdown))
            )
        await self._dispose(conn.client, started=True)

    async def _dispose(self, client: Client, *, started: bool) -> None:
        """Tear a client down completely: session, channel, socket and its background tasks."""
        if not started:
            client.disconnect_socket()
            return
        try:
            async with asyncio.timeout(2 * self.timeout_s + 1):
                await client.disconnect()
        except Exception as exc:
            log.debug("opcua_disconnect_error", tool=self.name, error=repr(exc))
            client.disconnect_socket()

    async def close(self) -> None:
        """Close subscriptions and the session; a later call reconnects from scratch."""
        self._closed = True
        for sub in list(self._subscriptions):
            await sub.close()
        async with self._connect_lock:  # let an attempt in flight finish, then undo it
            conn, self._conn = self._conn, None
            if conn is not None and not conn.retired:
                conn.retired = True
                await self._dispose(conn.client, started=True)
        if self._disposals:
            await asyncio.gather(*self._disposals, return_exceptions=True)
        self._lost_at = None
        self._next_attempt = 0.0
        self._backoff = self._backoff_initial
        self._last_error = None

    # --- requests -------------------------------------------------------------

    async def _live(self) -> Connection:
        conn = self._conn
        if conn is not None and conn.alive:
            return conn
        await self.connect()
        assert self._conn is not None
        return self._conn

    @contextlib.contextmanager
    def mapped_errors(self, conn: Connection, what: str) -> Iterator[None]:
        """Translate asyncua/socket failures of one request into driver errors."""
        try:
            yield
        except DriverError:
            raise
        except TimeoutError as exc:  # before OSError: TimeoutError is one
            raise ToolUnavailable(
                f"{self.name}: no answer to {what} within {self.timeout_s} s"
            ) from exc
        except OSError as exc:  # ConnectionError: socket closed, or asyncua saw the loss
            self._lost(conn, f"{what}: {exc}")
            raise ToolUnavailable(
                f"{self.name}: connection to {self.endpoint} lost during {what}"
            ) from exc
        except UaStatusCodeError as exc:
            if exc.code in CONNECTION_LOST_CODES:
                self._lost(conn, f"{what}: {ua.StatusCode(ua.UInt32(exc.code)).name}")
                raise ToolUnavailable(
                    f"{self.name}: session lost during {what}: {status_text(exc.code)}"
                ) from exc
            raise ProtocolError(f"{self.name}: {what} failed: {status_text(exc.code)}") from exc
        except UaError as exc:
            raise GarbledResponse(f"{self.name}: undecodable answer to {what}: {exc}") from exc

    async def read_many(self, node_ids: Sequence[str]) -> list[Any]:
        """Read the values of `node_ids` in one Read request; a Bad status is a ProtocolError."""
        if not node_ids:
            return []
        conn = await self._live()
        ids = [conn.resolve(n) for n in node_ids]
        with self.mapped_errors(conn, f"read of {len(ids)} values"):
            results = await conn.client.uaclient.read_attributes(ids, AttributeIds.Value)
        if len(results) != len(ids):
            raise GarbledResponse(
                f"{self.name}: read of {len(ids)} values answered with {len(results)}"
            )
        bad = [
            f"{node}: {status_text(dv.StatusCode.value)}"
            for node, dv in zip(node_ids, results, strict=True)
            if dv.StatusCode is not None and dv.StatusCode.is_bad()
        ]
        if bad:
            raise ProtocolError(f"{self.name}: read refused for {'; '.join(bad)}")
        return [dv.Value.Value if dv.Value is not None else None for dv in results]

    async def read(self, node_id: str) -> Any:
        """Read one value (prefer `read_many` for several)."""
        return (await self.read_many([node_id]))[0]

    async def call(
        self,
        object_node: str,
        method_node: str,
        *args: Any,
        arg_names: Sequence[str] = (),
    ) -> list[Any]:
        """Call a method; a Bad result is `ToolRejected` naming the method, status and argument.

        Pass `Typed(value, "UInt32")` where the server checks argument types.
        `arg_names` only improves the error message.
        """
        conn = await self._live()
        request = ua.CallMethodRequest(
            ObjectId=conn.resolve(object_node),
            MethodId=conn.resolve(method_node),
            InputArguments=[to_variant(a) for a in args],
        )
        with self.mapped_errors(conn, f"call of {short_name(method_node)}"):
            results = await conn.client.uaclient.call([request])
        if len(results) != 1:
            raise GarbledResponse(
                f"{self.name}: call of {short_name(method_node)}: {len(results)} results"
            )
        result = results[0]
        if result.StatusCode.is_bad():
            raise ToolRejected(self._rejection(method_node, result, args, arg_names))
        return [v.Value for v in result.OutputArguments or []]

    def _rejection(
        self,
        method_node: str,
        result: ua.CallMethodResult,
        args: Sequence[Any],
        arg_names: Sequence[str],
    ) -> str:
        method = short_name(method_node)
        parts = [f"{self.name}: {method} refused: {status_text(result.StatusCode.value)}"]
        diagnostics = list(result.InputArgumentDiagnosticInfos or [])
        for i, status in enumerate(result.InputArgumentResults or []):
            if not status.is_bad():
                continue
            arg = arg_names[i] if i < len(arg_names) else f"argument {i + 1}"
            if i < len(args):
                value = args[i].value if isinstance(args[i], Typed) else args[i]
                arg = f"{arg} = {value!r}"
            detail = f"{arg}: {status.name}"
            info = diagnostics[i] if i < len(diagnostics) else None
            if info is not None and info.AdditionalInfo:
                detail += f" ({info.AdditionalInfo})"
            parts.append(detail)
        # Servers that cannot attach diagnostics often explain in a string output.
        parts.extend(
            str(v.Value)
            for v in result.OutputArguments or []
            if isinstance(v.Value, str) and v.Value
        )
        return "; ".join(parts)

    # --- subscriptions --------------------------------------------------------

    async def subscribe(
        self, node_ids: Sequence[str], period_ms: float = 500.0, *, queue_size: int = 1000
    ) -> DataSubscription:
        """Subscribe to value changes of `node_ids`: an async iterator of (node_id, value).

        One OPC UA subscription read in iterator mode (no task per notification). It is
        re-created after every reconnect; the first values after one are the current
        values of all nodes. Raises now if the tool cannot be reached or a node is unknown.
        """
        sub = DataSubscription(self, tuple(node_ids), period_ms, queue_size)
        await sub.start()
        return sub

    async def subscribe_events(
        self, source_node: str, period_ms: float = 500.0, *, queue_size: int = 1000
    ) -> EventSubscription:
        """Subscribe to events (e.g. alarms) emitted by `source_node`: iterates `OpcUaEvent`s."""
        sub = EventSubscription(self, source_node, period_ms, queue_size)
        await sub.start()
        return sub

    def register(self, sub: Resubscribing) -> None:
        if sub not in self._subscriptions:
            self._subscriptions.append(sub)

    def unregister(self, sub: Resubscribing) -> None:
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)

    async def _resubscribe(self, conn: Connection) -> None:
        for sub in list(self._subscriptions):
            if not conn.alive:
                return
            try:
                await sub.prepare(conn)
            except DriverError as exc:
                # The subscriber sees the error itself when it next reads.
                log.warning("opcua_resubscribe_failed", tool=self.name, error=str(exc))
