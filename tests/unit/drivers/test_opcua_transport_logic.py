"""The OPC UA transport's own logic without a network: backoff, errors, node ids, messages."""

from __future__ import annotations

from typing import Any

import pytest
from asyncua import ua
from asyncua.ua.status_codes import StatusCodes

from drivers.core.errors import DriverError, ProtocolError, ToolUnavailable
from drivers.opcua import AuthenticationFailed, OpcUaTransport, SecurityConfig, Typed
from drivers.opcua.transport import Connection, short_name, status_text, to_variant
from tests.unit.drivers.fakes import NAMESPACES, FakeClient, FakeClock


def connection(generation: int = 1) -> Connection:
    return Connection(FakeClient(), generation, list(NAMESPACES), "PRESS-01")  # type: ignore[arg-type]


def transport(clock: FakeClock, **kw: Any) -> OpcUaTransport:
    return OpcUaTransport(
        "opc.tcp://127.0.0.1:4840/pkgline/press",
        security=SecurityConfig.insecure(),
        clock=clock,
        name="PRESS-01",
        **kw,
    )


class TestBackoff:
    async def test_fast_fail_while_backoff_pending(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """After a failed attempt calls fail at once until the backoff ends; it doubles to a cap."""
        clock = FakeClock()
        t = transport(clock, backoff_initial_s=1.0, backoff_max_s=4.0)
        attempts: list[float] = []

        async def unreachable() -> Connection:
            attempts.append(clock.t)
            raise ToolUnavailable("PRESS-01: refused")

        monkeypatch.setattr(t, "_open", unreachable)
        with pytest.raises(ToolUnavailable, match="refused"):
            await t.connect()
        with pytest.raises(ToolUnavailable, match=r"next retry in 1\.0 s"):
            await t.read("nsu=urn:x;s=A")
        assert attempts == [0.0]
        for wait in (1.0, 2.0, 4.0, 4.0):
            clock.t += wait
            with pytest.raises(ToolUnavailable, match="refused"):
                await t.connect()
            assert t.retry_in_s == pytest.approx(min(wait * 2, 4.0))
        assert len(attempts) == 5

    async def test_security_error_repeats_during_backoff(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A refused password is not 'unavailable': the same error type comes back at once."""
        clock = FakeClock()
        t = transport(clock)

        async def refused() -> Connection:
            raise AuthenticationFailed("PRESS-01 refused user 'mes': BadUserAccessDenied")

        monkeypatch.setattr(t, "_open", refused)
        with pytest.raises(AuthenticationFailed):
            await t.connect()
        with pytest.raises(AuthenticationFailed, match=r"BadUserAccessDenied.*next retry in"):
            await t.connect()

    async def test_success_resets_backoff_and_counts_reconnects(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A connection lost and restored is one reconnect, reported with its gap."""
        clock = FakeClock()
        gaps: list[Any] = []
        t = transport(clock, on_reconnect=gaps.append, backoff_initial_s=0.5)
        conns: list[Connection] = []

        async def ok() -> Connection:
            conns.append(connection(len(conns) + 1))
            return conns[-1]

        monkeypatch.setattr(t, "_open", ok)
        await t.connect()
        assert t.connected
        assert t.reconnects == 0
        t.lost(conns[0], "socket closed")
        assert not t.connected
        with pytest.raises(ToolUnavailable, match=r"next retry in 0\.5 s"):
            await t.connect()
        clock.t += 2.5
        await t.connect()
        assert t.reconnects == 1
        assert gaps[0].downtime_s == pytest.approx(2.5)
        assert gaps[0].reason == "socket closed"
        assert t.retry_in_s == 0.0
        await t.close()
        assert conns[0].client.disconnected  # type: ignore[attr-defined]
        assert conns[1].client.disconnected  # type: ignore[attr-defined]

    async def test_closed_transport_is_not_reopened_by_a_resuming_subscription(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """After close(), only an explicit connect (or a new call) opens a session again."""
        t = transport(FakeClock())
        opened: list[Connection] = []

        async def ok() -> Connection:
            opened.append(connection(len(opened) + 1))
            return opened[-1]

        monkeypatch.setattr(t, "_open", ok)
        await t.connect()
        await t.close()
        with pytest.raises(ToolUnavailable, match="transport closed"):
            await t.connection(resume=True)
        assert len(opened) == 1
        await t.connect()
        assert t.connected
        await t.close()


class TestErrors:
    async def test_connection_errors_drop_the_session(self) -> None:
        """A closed socket during a request is ToolUnavailable and forgets the session."""
        t = transport(FakeClock())
        conn = connection()
        with pytest.raises(ToolUnavailable, match="lost during read"):  # noqa: SIM117
            with t.mapped_errors(conn, "read"):
                raise ConnectionError("Connection is closed")
        assert conn.retired
        await t.close()  # awaits the teardown of the dropped session
        assert conn.client.disconnected  # type: ignore[attr-defined]

    def test_timeout_keeps_the_session(self) -> None:
        """A slow answer is ToolUnavailable; the keep-alive decides whether the session died."""
        t = transport(FakeClock())
        conn = connection()
        with pytest.raises(ToolUnavailable, match="no answer to read within"):  # noqa: SIM117
            with t.mapped_errors(conn, "read"):
                raise TimeoutError
        assert not conn.retired

    async def test_status_codes(self) -> None:
        """Session-level codes mean 'unavailable'; others are protocol errors naming the code."""
        t = transport(FakeClock())
        conn = connection()
        with pytest.raises(ProtocolError, match="BadTooManyOperations"):  # noqa: SIM117
            with t.mapped_errors(conn, "read"):
                raise ua.UaStatusCodeError(StatusCodes.BadTooManyOperations)
        assert not conn.retired
        with pytest.raises(ToolUnavailable, match="BadSessionClosed"):  # noqa: SIM117
            with t.mapped_errors(conn, "read"):
                raise ua.UaStatusCodeError(StatusCodes.BadSessionClosed)
        assert conn.retired
        await t.close()

    def test_driver_errors_pass_through(self) -> None:
        t = transport(FakeClock())
        with pytest.raises(DriverError, match="mine"):  # noqa: SIM117
            with t.mapped_errors(connection(), "read"):
                raise DriverError("mine")

    def test_rejection_names_method_argument_and_reason(self) -> None:
        """A refused call lists the status, each bad argument with its value and diagnostic."""
        t = transport(FakeClock())
        bad = ua.StatusCode(ua.UInt32(StatusCodes.BadOutOfRange))
        good = ua.StatusCode()
        result = ua.CallMethodResult(
            StatusCode=ua.StatusCode(ua.UInt32(StatusCodes.BadInvalidArgument)),
            InputArgumentResults=[good, bad],
            InputArgumentDiagnosticInfos=[
                ua.DiagnosticInfo(),
                ua.DiagnosticInfo(AdditionalInfo=ua.String("Cycles must be 1..25, got 30")),
            ],
        )
        text = t._rejection(
            "nsu=urn:x;s=Press.LoadJob",
            result,
            [Typed("job", "String"), Typed(30, "Int32")],
            ["Name", "Cycles"],
        )
        assert text.startswith("PRESS-01: Press.LoadJob refused: BadInvalidArgument")
        assert "Cycles = 30: BadOutOfRange (Cycles must be 1..25, got 30)" in text
        assert "Name" not in text


class TestNodeIds:
    def test_namespace_uri_resolved_against_the_session(self) -> None:
        """`nsu=` names resolve to this server's index, never an assumed 2."""
        node = connection().resolve("nsu=urn:pkgline:molding-press;s=Press.Status.JobStatus")
        assert node == ua.NodeId("Press.Status.JobStatus", ua.Int16(2))

    def test_unknown_namespace_is_a_protocol_error(self) -> None:
        with pytest.raises(ProtocolError, match="no namespace 'urn:nowhere'"):
            connection().resolve("nsu=urn:nowhere;s=X")

    def test_plain_ids_pass(self) -> None:
        assert connection().resolve("i=2258") == ua.NodeId(2258, ua.Int16(0))

    def test_garbage_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="not an OPC UA node id"):
            connection().resolve("Press.Status")

    def test_short_name(self) -> None:
        assert short_name("nsu=urn:x;s=Press.Start") == "Press.Start"
        assert short_name("i=85") == "i=85"


class TestValues:
    def test_typed_arguments_keep_their_wire_type(self) -> None:
        """Servers check argument types: UInt32 stays UInt32, not Python's Int64."""
        assert to_variant(Typed(7, "UInt32")).VariantType is ua.VariantType.UInt32
        assert to_variant(Typed(1.0, "Double")).VariantType is ua.VariantType.Double
        assert to_variant("x").VariantType is ua.VariantType.String

    def test_status_text(self) -> None:
        assert status_text(StatusCodes.BadInvalidState).startswith("BadInvalidState (")

    def test_endpoint_must_be_opc_tcp(self) -> None:
        with pytest.raises(ValueError, match=r"opc\.tcp://"):
            OpcUaTransport("http://x", security=SecurityConfig.insecure())
