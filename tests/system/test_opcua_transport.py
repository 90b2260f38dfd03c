"""The OPC UA transport against a real, secured asyncua server on 127.0.0.1.

The server here is deliberately small (one object, three variables, a method,
events) and secured like the tools: Basic256Sha256 Sign&Encrypt, user name and
password, no anonymous sessions. Leaked asyncio tasks fail a test through the
autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.server import Server
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes

from drivers.core.errors import ProtocolError, ToolRejected, ToolUnavailable
from drivers.opcua import (
    AuthenticationFailed,
    ConnectionGap,
    OpcUaTransport,
    SecurityConfig,
    SecurityRejected,
    Typed,
    UntrustedServer,
    fingerprint,
)
from drivers.opcua.security import (
    CLIENT_CERT_FILE,
    CLIENT_KEY_FILE,
    der_of,
    ensure_certificate_files,
    load_certificate,
)
from simulators.opcua_base import stop_server

pytestmark = pytest.mark.system

NS = "urn:pkgline:test-tool"
SERVER_URI = "urn:pkgline:test-tool:server"
TOOL = f"nsu={NS};s=Tool"
TEMPERATURE = f"nsu={NS};s=Tool.Temperature"
STATE = f"nsu={NS};s=Tool.State"
COUNTER = f"nsu={NS};s=Tool.Counter"
SET_STATE = f"nsu={NS};s=Tool.SetState"
USER, PASSWORD = "op", "s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    server: Pair
    impostor: Pair  # another server certificate (another key) for the same application
    client_dir: Path
    stranger_dir: Path  # a client pair the servers' trust lists do not hold


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates made once per module (RSA key generation is the slow part)."""
    root = tmp_path_factory.mktemp("pki")
    pairs = {}
    for name in ("server", "impostor"):
        pair = Pair(root / name / "cert.der", root / name / "key.pem")
        ensure_certificate_files(pair.cert, pair.key, SERVER_URI, server=True)
        pairs[name] = pair
    for name in ("client", "stranger"):
        ensure_certificate_files(
            root / name / CLIENT_CERT_FILE, root / name / CLIENT_KEY_FILE, "urn:pkgline:client"
        )
    return Pki(pairs["server"], pairs["impostor"], root / "client", root / "stranger")


class _Users:
    """asyncua user manager: returning None refuses the session (BadUserAccessDenied)."""

    def __init__(self, anonymous: bool) -> None:
        self.anonymous = anonymous

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is None:
            return User(role=UserRole.User) if self.anonymous else None
        if (username, password) == (USER, PASSWORD):
            return User(role=UserRole.User, name=username)
        return None


class ToolServer:
    """A secured asyncua server standing in for a tool."""

    def __init__(
        self,
        port: int,
        pair: Pair,
        *,
        anonymous: bool = False,
        trust_dir: Path | None = None,
    ) -> None:
        self.port = port
        self.pair = pair
        self.anonymous = anonymous
        self.trust_dir = trust_dir
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/tool"
        self.server: Server | None = None
        self.vars: dict[str, Any] = {}
        self.calls: list[int] = []

    async def start(self, temperature: float = 21.5) -> None:
        server = Server(user_manager=_Users(self.anonymous))
        await server.init()
        server.disable_clock()  # its 1 s ticker would make every stop() take a second
        server.set_endpoint(self.endpoint)
        await server.set_application_uri(SERVER_URI)
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        tokens: list[type] = [ua.UserNameIdentityToken]
        if self.anonymous:
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        await server.load_certificate(str(self.pair.cert))
        await server.load_private_key(str(self.pair.key))
        if self.trust_dir is not None:
            store = TrustStore([self.trust_dir], [])
            await store.load()
            validator = CertificateValidator(CertificateValidatorOptions.TRUSTED, store)
            server.set_certificate_validator(validator.validate)
        # A namespace before ours, so the tool's index is not the customary 2.
        await server.register_namespace("urn:pkgline:test-decoy")
        idx = await server.register_namespace(NS)
        tool = await server.nodes.objects.add_object(
            ua.NodeId("Tool", idx), ua.QualifiedName("Tool", idx)
        )
        for name, value, vtype in (
            ("Temperature", temperature, ua.VariantType.Double),
            ("State", 0, ua.VariantType.Int32),
            ("Counter", 0, ua.VariantType.UInt32),
        ):
            self.vars[name] = await tool.add_variable(
                ua.NodeId(f"Tool.{name}", idx),
                ua.QualifiedName(name, idx),
                ua.Variant(value, vtype),
            )

        async def set_state(_parent: ua.NodeId, state: ua.Variant) -> Any:
            # asyncua answers BadUnexpectedError for a callback that raises, so a
            # refusal is returned as a CallMethodResult.
            if state.VariantType != ua.VariantType.Int32:
                return ua.StatusCode(ua.UInt32(StatusCodes.BadTypeMismatch))
            if state.Value < 0:
                return ua.CallMethodResult(
                    StatusCode=ua.StatusCode(ua.UInt32(StatusCodes.BadInvalidArgument)),
                    InputArgumentResults=[ua.StatusCode(ua.UInt32(StatusCodes.BadOutOfRange))],
                    InputArgumentDiagnosticInfos=[
                        ua.DiagnosticInfo(AdditionalInfo=ua.String("State must be >= 0"))
                    ],
                )
            self.calls.append(state.Value)
            previous = await self.vars["State"].read_value()
            await self.vars["State"].write_value(ua.Variant(state.Value, ua.VariantType.Int32))
            return [ua.Variant(previous, ua.VariantType.Int32)]

        await tool.add_method(
            ua.NodeId("Tool.SetState", idx),
            ua.QualifiedName("SetState", idx),
            set_state,
            [ua.VariantType.Int32],
            [ua.VariantType.Int32],
        )
        self.events = await server.get_event_generator(ObjectIds.BaseEventType, tool.nodeid)
        self.events.event.SourceName = "Tool"
        await server.start()
        self.server = server

    async def write(self, name: str, value: Any) -> None:
        vtype = await self.vars[name].read_data_type_as_variant_type()
        await self.vars[name].write_value(ua.Variant(value, vtype))

    async def emit(self, message: str, severity: int) -> None:
        self.events.event.Severity = severity
        await self.events.trigger(message=message)

    async def stop(self) -> None:
        if self.server is None:
            return
        server, self.server = self.server, None
        await stop_server(server)


Factory = Callable[..., Awaitable[ToolServer]]


@pytest.fixture
async def make_server(pki: Pki) -> AsyncIterator[Factory]:
    started: list[ToolServer] = []

    async def make(
        port: int | None = None, pair: Pair | None = None, temperature: float = 21.5, **kw: Any
    ) -> ToolServer:
        srv = ToolServer(port or free_port(), pair or pki.server, **kw)
        await srv.start(temperature)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        await srv.stop()


@pytest.fixture
async def server(make_server: Factory) -> ToolServer:
    return await make_server()


@pytest.fixture
async def transports() -> AsyncIterator[list[OpcUaTransport]]:
    made: list[OpcUaTransport] = []
    yield made
    for t in made:
        await t.close()


@pytest.fixture
def make_transport(pki: Pki, transports: list[OpcUaTransport]) -> Callable[..., OpcUaTransport]:
    def make(
        endpoint: str,
        *,
        username: str | None = USER,
        password: str | None = PASSWORD,
        pinned: Path | None = None,
        client_dir: Path | None = None,
        **kw: Any,
    ) -> OpcUaTransport:
        security = SecurityConfig.with_client_dir(
            client_dir or pki.client_dir, pinned or pki.server.cert, username, password
        )
        kw.setdefault("backoff_initial_s", 0.05)
        kw.setdefault("backoff_max_s", 0.3)
        t = OpcUaTransport(endpoint, security=security, name="TOOL-01", **kw)
        transports.append(t)
        return t

    return make


async def eventually(cond: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.02)


async def value_of(sub: Any, node: str, want: Any, timeout_s: float = 15.0) -> None:
    """Consume the subscription until `node` reports `want`."""

    async def consume() -> None:
        async for got_node, value in sub:
            if got_node == node and value == want:
                return

    await asyncio.wait_for(consume(), timeout_s)


class TestSecureSession:
    async def test_secure_connect_read_and_call(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """Sign&Encrypt with a user: a batched read and a typed method call work."""
        t = make_transport(server.endpoint)
        await t.connect()
        assert t.connected
        assert await t.read_many([TEMPERATURE, STATE, COUNTER]) == [21.5, 0, 0]
        assert await t.call(TOOL, SET_STATE, Typed(3, "Int32")) == [0]
        assert server.calls == [3]
        assert await t.read(STATE) == 3

    async def test_namespace_index_resolved_per_session(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """Nodes named by namespace URI resolve to the server's index (here 3, not 2)."""
        t = make_transport(server.endpoint)
        conn = await t.connection()
        assert conn.resolve(TEMPERATURE).NamespaceIndex == 3
        with pytest.raises(ProtocolError, match="no namespace 'urn:elsewhere'"):
            await t.read("nsu=urn:elsewhere;s=X")

    async def test_read_many_is_one_request(
        self,
        server: ToolServer,
        make_transport: Callable[..., OpcUaTransport],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Many values come back from a single Read service call."""
        t = make_transport(server.endpoint)
        conn = await t.connection()
        requests: list[int] = []
        original = conn.client.uaclient.read_attributes

        async def counting(nodeids: list[ua.NodeId], attr: Any) -> Any:
            requests.append(len(nodeids))
            return await original(nodeids, attr)

        monkeypatch.setattr(conn.client.uaclient, "read_attributes", counting)
        await t.read_many([TEMPERATURE, STATE, COUNTER] * 5)
        assert requests == [15]

    async def test_bad_node_is_protocol_error_naming_it(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """A Bad status on one value names the node and the status."""
        t = make_transport(server.endpoint)
        missing = f"nsu={NS};s=Tool.Missing"
        with pytest.raises(ProtocolError, match=r"Tool\.Missing: BadNodeIdUnknown"):
            await t.read_many([TEMPERATURE, missing])

    async def test_method_bad_status_is_tool_rejected(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """A refused call names the method, the status, the argument and the tool's reason."""
        t = make_transport(server.endpoint)
        with pytest.raises(ToolRejected) as info:
            await t.call(TOOL, SET_STATE, Typed(-1, "Int32"), arg_names=["State"])
        text = str(info.value)
        assert "Tool.SetState refused: BadInvalidArgument" in text
        assert "State = -1: BadOutOfRange (State must be >= 0)" in text
        with pytest.raises(ToolRejected, match="BadTypeMismatch"):
            await t.call(TOOL, SET_STATE, Typed(1.5, "Double"))
        assert server.calls == []

    async def test_client_certificate_generated_on_first_use(
        self,
        server: ToolServer,
        make_transport: Callable[..., OpcUaTransport],
        tmp_path: Path,
    ) -> None:
        """A missing client certificate and key are generated at the first connect."""
        client_dir = tmp_path / "pki" / "client"
        t = make_transport(server.endpoint, client_dir=client_dir)
        await t.connect()
        assert (client_dir / CLIENT_CERT_FILE).is_file()
        assert (client_dir / CLIENT_KEY_FILE).stat().st_mode & 0o077 == 0


class TestRefusals:
    async def test_wrong_password_refused_clearly(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """A wrong password is AuthenticationFailed naming the user, also during backoff."""
        t = make_transport(server.endpoint, password="wrong")
        with pytest.raises(AuthenticationFailed, match=r"refused user 'op': BadUserAccessDenied"):
            await t.connect()
        with pytest.raises(AuthenticationFailed, match="next retry in"):
            await t.connect()
        assert not t.connected

    async def test_anonymous_refused(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """A session without a user is refused (the server offers no anonymous token)."""
        t = make_transport(server.endpoint, username=None, password=None)
        with pytest.raises(AuthenticationFailed, match="anonymous session"):
            await t.connect()

    async def test_server_with_other_certificate_refused(
        self,
        pki: Pki,
        make_server: Factory,
        make_transport: Callable[..., OpcUaTransport],
    ) -> None:
        """A server presenting another certificate than the pinned one is UntrustedServer."""
        impostor = await make_server(pair=pki.impostor)
        t = make_transport(impostor.endpoint, pinned=pki.server.cert)
        with pytest.raises(UntrustedServer) as info:
            await t.connect()
        text = str(info.value)
        pinned_fp = fingerprint(der_of(load_certificate(pki.server.cert)))
        presented_fp = fingerprint(der_of(load_certificate(pki.impostor.cert)))
        assert impostor.endpoint in text
        assert pinned_fp in text
        assert presented_fp in text
        assert not t.connected

    async def test_client_certificate_not_trusted_by_tool(
        self,
        pki: Pki,
        make_server: Factory,
        make_transport: Callable[..., OpcUaTransport],
        tmp_path: Path,
    ) -> None:
        """A tool whose trust list lacks our certificate refuses; we say which certificate."""
        trust = tmp_path / "trusted"
        trust.mkdir()
        (trust / "client.der").write_bytes((pki.client_dir / CLIENT_CERT_FILE).read_bytes())
        srv = await make_server(trust_dir=trust)
        trusted = make_transport(srv.endpoint)
        await trusted.connect()
        stranger = make_transport(srv.endpoint, client_dir=pki.stranger_dir)
        with pytest.raises(SecurityRejected, match="BadCertificateUntrusted"):
            await stranger.connect()

    async def test_insecure_client_gets_no_session_on_secure_tool(
        self, server: ToolServer, transports: list[OpcUaTransport]
    ) -> None:
        """The explicit opt-out cannot talk a secured tool into an unsecured session."""
        t = OpcUaTransport(
            server.endpoint, security=SecurityConfig.insecure(USER, PASSWORD), name="TOOL-01"
        )
        transports.append(t)
        with pytest.raises(SecurityRejected, match="offers no endpoint with security mode None"):
            await t.connect()
        assert not t.connected


class TestOutages:
    async def test_unreachable_fails_fast_with_backoff(
        self, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """Nothing listening: ToolUnavailable at once, then fast-fail until the backoff ends."""
        t = make_transport(f"opc.tcp://127.0.0.1:{free_port()}/tool", backoff_initial_s=5.0)
        with pytest.raises(ToolUnavailable, match="cannot connect"):
            await asyncio.wait_for(t.connect(), 2.0)
        with pytest.raises(ToolUnavailable, match="next retry in"):
            await asyncio.wait_for(t.read(TEMPERATURE), 0.5)

    async def test_read_while_server_down_is_fast(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """With the tool gone, reads raise ToolUnavailable without waiting out a timeout."""
        t = make_transport(server.endpoint, timeout_s=5.0)
        await t.connect()
        await server.stop()
        for _ in range(5):
            with pytest.raises(ToolUnavailable):
                await asyncio.wait_for(t.read(TEMPERATURE), 1.0)
        assert not t.connected

    async def test_keepalive_notices_loss_without_traffic(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """An idle transport learns of the loss from asyncua's supervisor and records when."""
        t = make_transport(server.endpoint)
        await t.connect()
        await server.stop()
        await eventually(lambda: not t.connected, what="loss detected")
        assert t.lost_since is not None

    async def test_subscription_survives_server_restart(
        self,
        pki: Pki,
        make_server: Factory,
        make_transport: Callable[..., OpcUaTransport],
    ) -> None:
        """Server stopped and restarted on the same port mid-subscription: the transport
        reconnects by itself, re-creates the subscription, counts and reports the gap."""
        first = await make_server()
        gaps: list[ConnectionGap] = []
        t = make_transport(first.endpoint, on_reconnect=gaps.append)
        sub = await t.subscribe([TEMPERATURE, STATE], period_ms=50)
        await value_of(sub, TEMPERATURE, 21.5)
        await first.write("Temperature", 30.0)
        await value_of(sub, TEMPERATURE, 30.0)

        await first.stop()
        second = await make_server(port=first.port, temperature=40.0)
        # The first value after the gap is the restarted tool's current one.
        await value_of(sub, TEMPERATURE, 40.0)
        assert t.reconnects == 1
        assert sub.resubscriptions == 1
        assert len(gaps) == 1
        assert gaps[0].transport == "TOOL-01"
        assert gaps[0].downtime_s > 0
        assert gaps[0].restored_at >= gaps[0].lost_at
        # And it keeps delivering on the new session.
        await second.write("State", 7)
        await value_of(sub, STATE, 7)
        await sub.close()

    async def test_reads_reconnect_after_restart(
        self, make_server: Factory, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """Without subscriptions, the next read after the backoff reconnects."""
        first = await make_server()
        t = make_transport(first.endpoint)
        assert await t.read(TEMPERATURE) == 21.5
        await first.stop()
        await make_server(port=first.port, temperature=50.0)

        async def read_until_back() -> Any:
            while True:
                try:
                    return await t.read(TEMPERATURE)
                except ToolUnavailable:
                    await asyncio.sleep(0.05)

        assert await asyncio.wait_for(read_until_back(), 15) == 50.0
        assert t.reconnects == 1
        assert t.last_gap is not None


class TestSubscriptions:
    async def test_batches_group_a_publish(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """The initial values of all nodes arrive as one batch."""
        t = make_transport(server.endpoint)
        sub = await t.subscribe([TEMPERATURE, STATE, COUNTER], period_ms=50)
        batch = await asyncio.wait_for(sub.next_batch(), 5)
        assert dict(batch) == {TEMPERATURE: 21.5, STATE: 0, COUNTER: 0}
        await sub.close()

    async def test_unknown_node_refused_at_subscribe(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """Subscribing to a node the tool lacks fails at once, naming it."""
        t = make_transport(server.endpoint)
        with pytest.raises(ProtocolError, match=r"Tool\.Nope: BadNodeIdUnknown"):
            await t.subscribe([TEMPERATURE, f"nsu={NS};s=Tool.Nope"])

    async def test_close_ends_iteration(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """Closing a subscription ends a consumer waiting on it."""
        t = make_transport(server.endpoint)
        sub = await t.subscribe([TEMPERATURE], period_ms=50)
        await sub.next_batch()

        async def drain() -> int:
            return len([item async for item in sub])

        consumer = asyncio.create_task(drain())
        await asyncio.sleep(0.1)
        await sub.close()
        assert await asyncio.wait_for(consumer, 5) == 0

    async def test_events(
        self, server: ToolServer, make_transport: Callable[..., OpcUaTransport]
    ) -> None:
        """Events from the tool object arrive with message, severity and source."""
        t = make_transport(server.endpoint)
        sub = await t.subscribe_events(TOOL, period_ms=50)
        await server.emit("heater failure: zone 2", 700)
        event = await asyncio.wait_for(anext(sub), 5)
        assert event.message == "heater failure: zone 2"
        assert event.severity == 700
        assert event.source == TOOL
        assert event.source_name == "Tool"
        await sub.close()
