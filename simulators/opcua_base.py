"""OPC UA server plumbing the simulators share: security, certificates, method-result helpers.

Security by default (DESIGN.md, "Security"): `configure_security` gives a
server one Basic256Sha256 SignAndEncrypt endpoint with user-name tokens, its
certificate and key made on first start in `cert_dir` and reused after, and a
client-certificate validator (validity period; with `trust_dir`, also
trusted). `insecure=True` is the explicit lab opt-out: one None/None
endpoint, anonymous.

asyncua 2.1 notes. A method callback that raises gives the client
BadUnexpectedError, so callbacks return a status code, or a
`ua.CallMethodResult` with one status per input argument and a
DiagnosticInfo naming the argument and its limit. asyncua accepts a
None-security channel for discovery whatever the endpoints say, and would
activate a session on it: `SessionUsers` refuses that.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import hmac
import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar, cast

import structlog
from asyncua import ua
from asyncua.common.callback import CallbackType, ServerItemCallback
from asyncua.common.node import Node
from asyncua.crypto import cert_gen, uacrypto
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.event_generator import EventGenerator
from asyncua.server.server import Server
from asyncua.server.user_managers import UserManager
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from simulators.clock import SimClock
from simulators.errors import SimConfigError

log = structlog.get_logger("simulators.opcua")

TICK_WALL_S = 0.02  # how often the background task catches the plant up and publishes
CERT_FILE = "server-cert.der"
KEY_FILE = "server-key.pem"
CERT_DAYS = 3650
CERT_RENEW_DAYS = 30  # a certificate this close to expiry is replaced at start

VARIANT = {
    "Int32": ua.VariantType.Int32,
    "UInt32": ua.VariantType.UInt32,
    "Double": ua.VariantType.Double,
    "String": ua.VariantType.String,
    "Boolean": ua.VariantType.Boolean,
}
INITIAL: dict[str, object] = {
    "Int32": 0,
    "UInt32": 0,
    "Double": 0.0,
    "String": "",
    "Boolean": False,
}
# UNECE Recommendation 20 common codes, as OPC UA's EUInformation wants them (Part 8, 5.6.3).
UNECE = {
    "°C": ("CEL", "degree Celsius"),
    "kN": ("B47", "kilonewton"),
    "MPa": ("MPA", "megapascal"),
    "mm": ("MMT", "millimetre"),
    "s": ("SEC", "second"),
    "A": ("AMP", "ampere"),
    "V": ("VLT", "volt"),
    "A·h": ("AMH", "ampere hour"),
    "rpm": ("RPM", "revolutions per minute"),
}
UNECE_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"

INTEGER_VARIANTS = frozenset(
    {
        ua.VariantType.SByte,
        ua.VariantType.Byte,
        ua.VariantType.Int16,
        ua.VariantType.UInt16,
        ua.VariantType.Int32,
        ua.VariantType.UInt32,
        ua.VariantType.Int64,
        ua.VariantType.UInt64,
    }
)
NUMBER_VARIANTS = INTEGER_VARIANTS | {ua.VariantType.Float, ua.VariantType.Double}


def unece_unit_id(code: str) -> int:
    """OPC UA UnitId of a UNECE common code: its ASCII bytes as one integer ("CEL" → 4408652)."""
    value = 0
    for ch in code:
        value = (value << 8) | ord(ch)
    return value


def engineering_units(unit: str) -> ua.EUInformation | None:
    """EUInformation for `unit` (a nodes.py unit string), or None if it has no UNECE code."""
    if unit not in UNECE:
        return None
    code, long_name = UNECE[unit]
    return ua.EUInformation(
        NamespaceUri=UNECE_NAMESPACE,
        UnitId=unece_unit_id(code),
        DisplayName=ua.LocalizedText(unit),
        Description=ua.LocalizedText(long_name),
    )


class SessionUsers(UserManager):
    """Who may open a session: the configured users by password; anonymous only if insecure.

    asyncua calls `get_user` on ActivateSession with the secure channel's peer
    (client application) certificate; returning None refuses the session with
    BadUserAccessDenied. asyncua 2.1 lets a client that ignores the endpoint
    list open a None-security channel (meant for GetEndpoints) and activate a
    session on it, so unless insecure a session without a client certificate
    (i.e. not on our Basic256Sha256 channel) is refused here.
    """

    def __init__(self, users: Mapping[str, str], *, anonymous: bool) -> None:
        self._users = {name: password.encode() for name, password in users.items()}
        self._anonymous = anonymous

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if not self._anonymous and not certificate:  # None, or b"" on a None channel
            log.info("session refused", reason="not on a Basic256Sha256 SignAndEncrypt channel")
            return None
        if username is None:
            if self._anonymous:
                return User(role=UserRole.User, name="anonymous")
            log.info("session refused", reason="anonymous")
            return None
        expected = self._users.get(username)
        # Compare against something even for an unknown user, so timing says nothing.
        given = (password or "").encode()
        ok = hmac.compare_digest(given, expected if expected is not None else b"\0" * len(given))
        if expected is None or password is None or not ok:
            log.info("session refused", reason="bad user name or password", user=username)
            return None
        return User(role=UserRole.User, name=username)


def check_security_config(
    *,
    insecure: bool,
    cert_dir: Path | None,
    users: Mapping[str, str],
    trust_dir: Path | None,
    port: int,
) -> None:
    """The constructor checks every simulator server makes; SimConfigError names the argument."""
    if not 0 <= port <= 65535:
        raise SimConfigError(f"port must be 0..65535, got {port}")
    for name, password in users.items():
        if not name or not password:
            raise SimConfigError("users: user names and passwords must not be empty")
    if not insecure:
        if cert_dir is None:
            raise SimConfigError("cert_dir is required unless insecure (server certificate)")
        if not users:
            raise SimConfigError("users: at least one user is required unless insecure")
    if trust_dir is not None and not trust_dir.is_dir():
        raise SimConfigError(f"trust_dir {trust_dir} is not a directory")


async def configure_security(
    server: Server,
    *,
    insecure: bool,
    cert_dir: Path | None,
    host: str,
    trust_dir: Path | None,
    application_uri: str,
    server_name: str,
) -> None:
    """Endpoints, identity tokens, server certificate and client validator of `server`."""
    if insecure:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.set_identity_tokens([ua.AnonymousIdentityToken])
        return
    assert cert_dir is not None
    cert, key = await ensure_server_certificate(
        cert_dir, host, application_uri=application_uri, server_name=server_name
    )
    await server.load_certificate(str(cert))
    await server.load_private_key(str(key))
    server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
    server.set_identity_tokens([ua.UserNameIdentityToken])
    server.set_certificate_validator(await client_validator(trust_dir))


async def client_validator(trust_dir: Path | None) -> Callable[..., Any]:
    """Client certificates: valid now; with a trust dir also trusted (directly or by CA)."""
    if trust_dir is None:
        return CertificateValidator(CertificateValidatorOptions.TIME_RANGE).validate
    store = TrustStore([trust_dir], [])
    try:
        await store.load()
    except (OSError, ValueError) as exc:
        raise SimConfigError(
            f"trust_dir {trust_dir}: holds something that is not a certificate ({exc})"
        ) from None
    options = CertificateValidatorOptions.TIME_RANGE | CertificateValidatorOptions.TRUSTED
    return CertificateValidator(options, store).validate


async def start_server(server: Server, host: str, port: int) -> int:
    """Start `server`; returns the bound port. SimConfigError when the port cannot be bound."""
    try:
        await server.start()
    except OSError:
        with contextlib.suppress(Exception):
            await server.stop()
        raise SimConfigError(
            f"port {port}: cannot listen on {host}:{port} (in use, or not an address of this host)"
        ) from None
    assert server.bserver is not None
    return int(server.bserver.port)


async def stop_server(server: Server) -> None:
    """Stop `server` and close its sessions: asyncua keeps a stopped server's sessions (and
    their timeout tasks) for re-activation, so a plain stop would leave them running."""
    await server.stop()
    for session in list(server.iserver._external_sessions.values()):
        await session.close_session(True)


async def write_server_time(server: Server) -> None:
    """ServerStatus.CurrentTime (what asyncua's clock task would do, once a second)."""
    status_node = server.get_node(ObjectIds.Server_ServerStatus)
    status = copy.copy(await status_node.read_value())
    status.CurrentTime = datetime.datetime.now(datetime.UTC)
    await status_node.write_value(status)
    await server.get_node(ObjectIds.Server_ServerStatus_CurrentTime).write_value(
        ua.Variant(status.CurrentTime, ua.VariantType.DateTime)
    )


def url_host(host: str) -> str:
    """`host` as it goes into a URL (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host else host


async def describe(node: Node, text: str) -> None:
    await node.write_attribute(
        AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(text)))
    )


def convert(
    name: str, wire_type: str, variant: ua.Variant
) -> tuple[object, tuple[int, str] | None]:
    """A method argument as a Python value, or (status code, message) when its type is wrong.

    Double arguments take any numeric variant (integers convert exactly);
    integer arguments take integer variants; String takes a String.
    """
    vt, value = variant.VariantType, variant.Value
    mismatch = (
        StatusCodes.BadTypeMismatch,
        f"{name} must be a {wire_type}, got {vt.name}",
    )
    if wire_type == "String":
        ok = vt is ua.VariantType.String and value is not None
        return (value, None) if ok else ("", mismatch)
    if wire_type == "Double":
        if vt not in NUMBER_VARIANTS:
            return 0.0, mismatch
        return float(value), None
    if vt not in INTEGER_VARIANTS:
        return 0, mismatch
    return int(value), None


def nid(text: str, idx: int) -> ua.NodeId:
    """A string node id in namespace `idx`."""
    return ua.NodeId(ua.String(text), ua.Int16(idx))


def status(code: int) -> ua.StatusCode:
    return ua.StatusCode(ua.UInt32(code))


def diagnostic(message: str | None) -> ua.DiagnosticInfo:
    return (
        ua.DiagnosticInfo()
        if message is None
        else ua.DiagnosticInfo(AdditionalInfo=ua.String(message))
    )


def refused(method: str, code: int, message: str) -> ua.StatusCode:
    """Log a refused method call; the status code the client gets."""
    log.info("method refused", method=method, code=status(code).name, reason=message)
    return status(code)


async def ensure_server_certificate(
    cert_dir: Path, host: str, *, application_uri: str, server_name: str
) -> tuple[Path, Path]:
    """The server's certificate (DER) and key (PEM) in `cert_dir`: made on first start
    (and when missing, unreadable or about to expire), reused otherwise. The key is 0600."""
    cert_path, key_path = cert_dir / CERT_FILE, cert_dir / KEY_FILE
    if cert_path.exists() and key_path.exists():
        try:
            cert = await uacrypto.load_certificate(cert_path)
            await uacrypto.load_private_key(key_path)
        except Exception:  # any unreadable file: make a new pair
            log.warning("server certificate unreadable; making a new one", cert=str(cert_path))
        else:
            left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
            if left > datetime.timedelta(days=CERT_RENEW_DAYS):
                return cert_path, key_path
    try:
        cert_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # noqa: ASYNC240 - once, at start
    except OSError as exc:
        raise SimConfigError(f"cert_dir {cert_dir}: cannot create it ({exc.strerror})") from None
    key = cert_gen.generate_private_key()
    names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(application_uri),
        x509.DNSName(socket.gethostname()),
        x509.DNSName("localhost"),
    ]
    for address in {host, "127.0.0.1"}:
        with contextlib.suppress(ValueError):
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
    if not is_ip(host) and host not in ("localhost", socket.gethostname()):
        names.append(x509.DNSName(host))
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        server_name,
        {"organizationName": "pkgline"},
        names,
        [ExtendedKeyUsageOID.SERVER_AUTH],
        days=CERT_DAYS,
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(cert_gen.dump_private_key_as_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    log.info("server certificate made", cert=str(cert_path), key=str(key_path))
    return cert_path, key_path


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Plant(Protocol):
    def advance(self, dt: float) -> None: ...


P = TypeVar("P", bound=_Plant)


class OpcuaSimulator(Generic[P]):
    """The lifecycle the OPC UA simulators share: start/stop, the tick loop, catching up.

    A subclass sets NAME, APPLICATION_URI, SERVER_NAME, ENDPOINT_PATH, `_log` and
    `plant`, calls `_init_server` first in its constructor, and provides `_build`
    (the address space), `_node_values` and `_send_events`.
    """

    NAME: ClassVar[str]
    APPLICATION_URI: ClassVar[str]
    SERVER_NAME: ClassVar[str]
    ENDPOINT_PATH: ClassVar[str]
    _log: ClassVar[Any]
    plant: P

    def _init_server(
        self,
        host: str,
        port: int,
        *,
        speed: float,
        cert_dir: Path | None,
        users: Mapping[str, str] | None,
        insecure: bool,
        trust_dir: Path | None,
    ) -> None:
        users = dict(users or {})
        check_security_config(
            insecure=insecure, cert_dir=cert_dir, users=users, trust_dir=trust_dir, port=port
        )
        self.host = host
        self.insecure = insecure
        self.cert_dir = cert_dir
        self.trust_dir = trust_dir
        self._requested_port = port
        self._users = users
        self._clock = SimClock(speed)  # validates speed; restarted in start()
        self._server: Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._events: EventGenerator | None = None
        self._nodes: dict[str, tuple[Node, ua.VariantType]] = {}
        self._published: dict[str, object] = {}
        self._last_sim_s = 0.0
        self._port: int | None = None
        self._idx = 0

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the server listens on (known after start)."""
        if self._port is None:
            raise RuntimeError("simulator not started")
        return self._port

    @property
    def endpoint(self) -> str:
        """The endpoint URL clients connect to."""
        return f"opc.tcp://{url_host(self.host)}:{self.port}{self.ENDPOINT_PATH}"

    @property
    def speed(self) -> float:
        return self._clock.speed

    @property
    def server_cert_path(self) -> Path | None:
        """The server's certificate (DER): pin it in clients. None when insecure."""
        return None if self.insecure or self.cert_dir is None else self.cert_dir / CERT_FILE

    @property
    def namespace_index(self) -> int:
        return self._idx

    async def start(self) -> None:
        """Bind the port, build the address space and start stepping the physics."""
        if self._server is not None:
            return
        server = Server(user_manager=SessionUsers(self._users, anonymous=self.insecure))
        await server.init()
        server.set_server_name(self.SERVER_NAME)
        await server.set_application_uri(self.APPLICATION_URI)
        server.set_endpoint(
            f"opc.tcp://{url_host(self.host)}:{self._requested_port}{self.ENDPOINT_PATH}"
        )
        await configure_security(
            server,
            insecure=self.insecure,
            cert_dir=self.cert_dir,
            host=self.host,
            trust_dir=self.trust_dir,
            application_uri=self.APPLICATION_URI,
            server_name=self.SERVER_NAME,
        )
        await self._build(server)
        server.subscribe_server_callback(CallbackType.PreRead, self._before_read)
        server.disable_clock()  # our tick loop keeps ServerStatus.CurrentTime (fast stop)
        self._port = await start_server(server, self.host, self._requested_port)
        self._server = server
        self._clock = SimClock(self._clock.speed)
        self._last_sim_s = 0.0
        await self._publish()
        self._task = asyncio.create_task(self._run(), name=f"{self.NAME}-sim-physics")
        listening = f"{self.NAME} simulator listening"
        self._log.info(
            listening,
            endpoint=self.endpoint,
            security="None (insecure)" if self.insecure else "Basic256Sha256 SignAndEncrypt",
            speed=self._clock.speed,
            **self._listening_info(),
        )

    async def stop(self) -> None:
        """Stop the physics task and close the server and its connections. The plant keeps
        its state, and a later start() listens on the same port: a tool's server restarting
        mid-job, where its clients look for it again."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            server, self._server = self._server, None
            await stop_server(server)
            if self._port is not None:  # started again, it listens where clients look
                self._requested_port = self._port
            self._nodes.clear()
            self._published.clear()
            stopped = f"{self.NAME} simulator stopped"
            self._log.info(stopped, port=self._port)

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
        loop = asyncio.get_running_loop()
        next_clock = loop.time()
        while True:
            await asyncio.sleep(TICK_WALL_S)
            await self._update()
            if loop.time() >= next_clock and self._server is not None:
                next_clock = loop.time() + 1.0
                await write_server_time(self._server)

    def _catch_up(self) -> None:
        """Advance the plant to the clock's now."""
        if self._server is None:
            return
        now = self._clock.now()
        if now > self._last_sim_s:
            self.plant.advance(now - self._last_sim_s)
            self._last_sim_s = now

    async def _update(self) -> None:
        self._catch_up()
        await self._publish()

    async def _before_read(self, event: ServerItemCallback, _dispatcher: Any) -> None:
        """A client's read: bring the values up to the clock's now first."""
        if event.is_external:
            await self._update()

    async def _publish(self) -> None:
        """Write the values that changed into the address space; send pending alarm events."""
        server = self._server
        if server is None:
            return
        now = cast(ua.DateTime, datetime.datetime.now(datetime.UTC))
        for node_id, value in self._node_values().items():
            if self._published.get(node_id, _UNSET) == value:
                continue
            node, vtype = self._nodes[node_id]
            await server.write_attribute_value(
                node.nodeid,
                ua.DataValue(ua.Variant(value, vtype), SourceTimestamp=now, ServerTimestamp=now),
            )
            self._published[node_id] = value
        await self._send_events()

    # --- what a subclass provides --------------------------------------------------------

    def _listening_info(self) -> dict[str, object]:
        return {}

    async def _build(self, server: Server) -> None:
        raise NotImplementedError

    def _node_values(self) -> dict[str, object]:
        raise NotImplementedError

    async def _send_events(self) -> None:
        raise NotImplementedError


_UNSET = object()
