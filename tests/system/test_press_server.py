"""The molding-press simulator over real OPC UA on 127.0.0.1: security, address space, methods,
a job to the end, faults as alarms and events, and asyncua's command-line tools.

Leaked asyncio tasks fail a test through the autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua
from asyncua.crypto import cert_gen, security_policies
from asyncua.ua.uaerrors import UaError, UaStatusCodeError
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from structlog.testing import capture_logs

from drivers.molding_press import nodes
from simulators.errors import SimConfigError
from simulators.press import cli
from simulators.press.server import PressSimulator

pytestmark = pytest.mark.system

SPEED = 100.0
USER, PASSWORD = "mes", "correct horse battery staple"
CLIENT_URI = "urn:freeopcua:client"  # asyncua Client's default application URI
BIN = Path(sys.executable).parent
JobArgs = tuple[object, ...]


def job_args(cycles: int = 2, mold_temp: float = 175.0, run_id: int = 7) -> JobArgs:
    """LoadJob's arguments as typed variants: a short job (5 s fill, 30 s cure)."""
    return (
        ua.Variant("MUF-175", ua.VariantType.String),
        ua.Variant(run_id, ua.VariantType.UInt32),
        ua.Variant(mold_temp, ua.VariantType.Double),
        ua.Variant(300.0, ua.VariantType.Double),
        ua.Variant(8.0, ua.VariantType.Double),
        ua.Variant(5.0, ua.VariantType.Double),
        ua.Variant(30.0, ua.VariantType.Double),
        ua.Variant(cycles, ua.VariantType.Int32),
    )


def make_client_cert(
    directory: Path, name: str = "client", cert_dir: Path | None = None
) -> tuple[Path, Path]:
    """A self-signed client application certificate (DER, in `cert_dir` if given) and key."""
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        f"pkgline test {name}",
        {},
        [x509.UniformResourceIdentifier(CLIENT_URI)],
        [ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    cert_path = (cert_dir or directory) / f"{name}-cert.der"
    key_path = directory / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return cert_path, key_path


@pytest.fixture(scope="module")
def client_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_client_cert(tmp_path_factory.mktemp("client-pki"))


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[PressSimulator]:
    async with PressSimulator(
        "127.0.0.1", 0, speed=SPEED, cert_dir=tmp_path / "pki", users={USER: PASSWORD}
    ) as press:
        yield press


async def secure_client(
    sim: PressSimulator,
    pki: tuple[Path, Path],
    user: str | None = USER,
    password: str | None = PASSWORD,
) -> Client:
    """A client pinned to the server's certificate, Basic256Sha256 SignAndEncrypt."""
    client = Client(sim.endpoint, timeout=5)
    if user is not None:
        client.set_user(user)
    if password is not None:
        client.set_password(password)
    assert sim.server_cert_path is not None
    await client.set_security(
        security_policies.SecurityPolicyBasic256Sha256,
        str(pki[0]),
        str(pki[1]),
        server_certificate=str(sim.server_cert_path),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    return client


@pytest.fixture
async def client(sim: PressSimulator, client_pki: tuple[Path, Path]) -> AsyncIterator[Client]:
    c = await secure_client(sim, client_pki)
    async with c:
        yield c


async def press_node(client: Client) -> tuple[Any, int]:
    idx = await client.get_namespace_index(nodes.NAMESPACE_URI)
    return client.get_node(ua.NodeId(nodes.ROOT, idx)), idx


async def read(client: Client, var: nodes.Var) -> Any:
    idx = await client.get_namespace_index(nodes.NAMESPACE_URI)
    return await client.get_node(ua.NodeId(var.node, idx)).read_value()


async def call_full(client: Client, method: str, *args: object) -> ua.CallMethodResult:
    """Call a Press method and return the whole result (status, per-argument results)."""
    press, idx = await press_node(client)
    request = ua.CallMethodRequest(
        ObjectId=press.nodeid,
        MethodId=ua.NodeId(method, idx),
        InputArguments=[a if isinstance(a, ua.Variant) else ua.Variant(a) for a in args],
    )
    (result,) = await client.uaclient.call([request])
    return result


async def wait_until(
    cond: Callable[[], Awaitable[bool]], timeout_s: float = 20.0, what: str = "condition"
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await cond():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def raw_session_on_none_channel(endpoint: str, user: str, password: str) -> None:
    """What a client that ignores the endpoint list can try: a None-security channel,
    CreateSession, ActivateSession with a user name and a plaintext password."""
    c = Client(endpoint, timeout=5)
    await c.connect_socket()
    try:
        await c.send_hello()
        await c.open_secure_channel()
        params = ua.CreateSessionParameters(
            ClientNonce=b"n" * 32,
            ClientDescription=ua.ApplicationDescription(
                ApplicationUri="urn:attacker", ApplicationType=ua.ApplicationType.Client
            ),
            EndpointUrl=endpoint,
            SessionName="none-channel",
            RequestedSessionTimeout=60_000,
        )
        await c.uaclient.create_session(params)
        token = ua.UserNameIdentityToken(
            PolicyId="username", UserName=user, Password=password.encode()
        )
        await c.uaclient.activate_session(ua.ActivateSessionParameters(UserIdentityToken=token))
    finally:
        await c.close_secure_channel()
        c.disconnect_socket()


class EventLog:
    """Subscription handler that keeps every event it is sent."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def event_notification(self, event: Any) -> None:
        self.events.append(event)


class TestSecurity:
    async def test_right_user_on_secure_channel_browses_and_reads(self, client: Client) -> None:
        """Basic256Sha256 SignAndEncrypt + mes/password: browse Press, read the process vars."""
        press, idx = await press_node(client)
        children = {(await c.read_browse_name()).Name for c in await press.get_children()}
        assert {"Status", "Counters", "Job", "Actual"} <= children
        assert {"LoadJob", "Start", "Abort", "Reset"} <= children
        values = await client.read_values(
            [client.get_node(ua.NodeId(v.node, idx)) for v in nodes.PROCESS_VARS]
        )
        by_node = dict(zip((v.node for v in nodes.PROCESS_VARS), values, strict=True))
        assert by_node[nodes.JOB_STATUS.node] == 0
        assert by_node[nodes.PLATEN_TOP.node] == pytest.approx(175.0, abs=1.0)

    async def test_server_offers_only_basic256sha256_sign_and_encrypt(
        self, sim: PressSimulator
    ) -> None:
        """GetEndpoints lists one endpoint: Basic256Sha256, SignAndEncrypt, user-name tokens."""
        endpoints = await Client(sim.endpoint, timeout=5).connect_and_get_server_endpoints()
        assert [(e.SecurityPolicyUri, e.SecurityMode) for e in endpoints] == [
            (
                security_policies.SecurityPolicyBasic256Sha256.URI,
                ua.MessageSecurityMode.SignAndEncrypt,
            )
        ]
        tokens = [t.TokenType for t in endpoints[0].UserIdentityTokens]
        assert tokens == [ua.UserTokenType.UserName]

    async def test_anonymous_is_refused(
        self, sim: PressSimulator, client_pki: tuple[Path, Path]
    ) -> None:
        """A secure channel without a user name gets no session."""
        c = await secure_client(sim, client_pki, user=None, password=None)
        with pytest.raises((UaError, UaStatusCodeError)):
            await c.connect()
        await c.disconnect()

    @pytest.mark.parametrize(("user", "password"), [(USER, "wrong"), ("intruder", PASSWORD)])
    async def test_wrong_password_or_user_is_refused(
        self, sim: PressSimulator, client_pki: tuple[Path, Path], user: str, password: str
    ) -> None:
        """A wrong password, or an unknown user, is refused with BadUserAccessDenied."""
        c = await secure_client(sim, client_pki, user=user, password=password)
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await c.connect()
        await c.disconnect()

    async def test_client_asking_for_no_security_is_refused(self, sim: PressSimulator) -> None:
        """A client asking for the None policy finds no such endpoint; one that ignores the
        endpoint list and activates a session on a None channel with the right password is
        refused by the server (BadUserAccessDenied) and reads nothing."""
        plain = Client(sim.endpoint, timeout=5)
        plain.set_user(USER)
        plain.set_password(PASSWORD)
        with pytest.raises(UaError, match="No matching endpoints"):
            await plain.connect()
        await plain.disconnect()
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await raw_session_on_none_channel(sim.endpoint, USER, PASSWORD)

    async def test_insecure_server_serves_anonymous_clients_without_security(self) -> None:
        """insecure=True: one None endpoint, anonymous sessions read the process vars."""
        async with PressSimulator("127.0.0.1", 0, speed=SPEED, insecure=True) as press:
            async with Client(press.endpoint, timeout=5) as c:
                assert await read(c, nodes.PLATEN_BOTTOM) == pytest.approx(175.0, abs=1.0)
            endpoints = await Client(press.endpoint, timeout=5).connect_and_get_server_endpoints()
        assert [e.SecurityMode for e in endpoints] == [ua.MessageSecurityMode.None_]
        assert press.server_cert_path is None

    async def test_certificate_is_made_once_and_reused(
        self, tmp_path: Path, client_pki: tuple[Path, Path]
    ) -> None:
        """First start writes server-cert.der and a 0600 key; a restart reuses both, so a
        client that pinned the certificate still connects."""
        pki = tmp_path / "pki"
        async with PressSimulator("127.0.0.1", 0, cert_dir=pki, users={USER: PASSWORD}) as first:
            assert first.server_cert_path == pki / "server-cert.der"
            cert = first.server_cert_path.read_bytes()
        key_mode = stat.S_IMODE((pki / "server-key.pem").stat().st_mode)
        assert key_mode == 0o600
        async with PressSimulator("127.0.0.1", 0, cert_dir=pki, users={USER: PASSWORD}) as second:
            assert second.server_cert_path is not None
            assert second.server_cert_path.read_bytes() == cert
            async with await secure_client(second, client_pki) as c:
                assert await read(c, nodes.JOB_STATUS) == 0
        parsed = x509.load_der_x509_certificate(cert)
        uris = parsed.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value.get_values_for_type(x509.UniformResourceIdentifier)
        assert uris == ["urn:pkgline:sim:molding-press"]

    async def test_trust_dir_admits_only_its_clients(
        self, tmp_path: Path, client_pki: tuple[Path, Path]
    ) -> None:
        """With trust_dir, a client whose certificate is there connects; another is refused."""
        trusted_dir = tmp_path / "trusted"
        trusted_dir.mkdir()
        trusted = make_client_cert(tmp_path, "trusted", cert_dir=trusted_dir)
        async with PressSimulator(
            "127.0.0.1", 0, cert_dir=tmp_path / "pki", users={USER: PASSWORD},
            trust_dir=trusted_dir,
        ) as press:  # fmt: skip
            async with await secure_client(press, trusted) as c:
                assert await read(c, nodes.JOB_STATUS) == 0
            stranger = await secure_client(press, client_pki)
            with pytest.raises((UaError, UaStatusCodeError)):
                await stranger.connect()
            await stranger.disconnect()


class TestAddressSpace:
    async def test_every_variable_has_the_documented_type_and_description(
        self, client: Client
    ) -> None:
        """Each Var of nodes.py exists with its OPC UA data type and description, read-only."""
        _, idx = await press_node(client)
        for var in nodes.PROCESS_VARS + nodes.JOB_VARS:
            node = client.get_node(ua.NodeId(var.node, idx))
            data_type = await node.read_data_type()
            assert data_type == ua.NodeId(getattr(ua.ObjectIds, var.type)), var.node
            assert (await node.read_description()).Text == var.description
            access = await node.read_attribute(ua.AttributeIds.AccessLevel)
            assert not access.Value.Value & ua.AccessLevel.CurrentWrite.mask, var.node

    async def test_temperatures_carry_engineering_units(self, client: Client) -> None:
        """PlatenTopTemperature has EngineeringUnits °C (UNECE CEL, UnitId 4408652)."""
        _, idx = await press_node(client)
        node = client.get_node(ua.NodeId(nodes.PLATEN_TOP.node, idx))
        eu = await (await node.get_child("0:EngineeringUnits")).read_value()
        assert (eu.UnitId, eu.DisplayName.Text) == (4408652, "°C")

    async def test_write_is_refused(self, client: Client) -> None:
        """Variables are read-only: a write is refused and the value stays."""
        _, idx = await press_node(client)
        node = client.get_node(ua.NodeId(nodes.RUN_ID.node, idx))
        with pytest.raises(UaStatusCodeError):
            await node.write_value(ua.Variant(99, ua.VariantType.UInt32))
        assert await node.read_value() == 0


class TestMethods:
    async def test_out_of_range_argument_is_refused_and_changes_nothing(
        self, client: Client
    ) -> None:
        """LoadJob with MoldTemperature 250: BadInvalidArgument; that argument BadOutOfRange
        with a message naming it and 20..200 °C; the others Good; no job loaded."""
        args = list(job_args())
        args[2] = ua.Variant(250.0, ua.VariantType.Double)
        result = await call_full(client, nodes.METHOD_LOAD_JOB, *args)
        assert result.StatusCode.value == ua.StatusCodes.BadInvalidArgument
        codes = [r.value for r in result.InputArgumentResults]
        assert codes == [0, 0, ua.StatusCodes.BadOutOfRange, 0, 0, 0, 0, 0]
        message = result.InputArgumentDiagnosticInfos[2].AdditionalInfo
        assert message == "MoldTemperature must be 20..200 °C, got 250 °C"
        assert await read(client, nodes.JOB_STATUS) == 0
        assert await read(client, nodes.JOB_NAME) == ""
        # The high-level call raises the same status.
        press, idx = await press_node(client)
        with pytest.raises(ua.uaerrors.BadInvalidArgument):
            await press.call_method(ua.NodeId(nodes.METHOD_LOAD_JOB, idx), *args)

    async def test_wrong_type_and_wrong_count_are_refused(self, client: Client) -> None:
        """A String for Cycles is BadTypeMismatch on that argument; 7 arguments are
        BadArgumentsMissing."""
        args = list(job_args())
        args[7] = ua.Variant("two", ua.VariantType.String)
        result = await call_full(client, nodes.METHOD_LOAD_JOB, *args)
        assert result.StatusCode.value == ua.StatusCodes.BadInvalidArgument
        assert result.InputArgumentResults[7].value == ua.StatusCodes.BadTypeMismatch
        assert result.InputArgumentDiagnosticInfos[7].AdditionalInfo == (
            "Cycles must be a Int32, got String"
        )
        short = await call_full(client, nodes.METHOD_LOAD_JOB, *job_args()[:7])
        assert short.StatusCode.value == ua.StatusCodes.BadArgumentsMissing

    async def test_start_without_a_job_is_invalid_state(self, client: Client) -> None:
        """Start with no job loaded: BadInvalidState."""
        result = await call_full(client, nodes.METHOD_START)
        assert result.StatusCode.value == ua.StatusCodes.BadInvalidState

    async def test_two_cycle_job_runs_to_finished(
        self, client: Client, sim: PressSimulator
    ) -> None:
        """LoadJob (run id 7, 2 cycles) + Start: JobStatus in production, then finished with
        Cycles/GoodCycles/BadCycles 2/2/0; the job's parameters read back; truth has 2 wafers."""
        press, idx = await press_node(client)
        await press.call_method(ua.NodeId(nodes.METHOD_LOAD_JOB, idx), *job_args())
        assert await read(client, nodes.JOB_STATUS) == 1
        assert await read(client, nodes.RUN_ID) == 7
        assert await read(client, nodes.JOB_CURE_TIME) == 30.0
        await press.call_method(ua.NodeId(nodes.METHOD_START, idx))
        assert await read(client, nodes.JOB_STATUS) == 2

        async def finished() -> bool:
            return bool(await read(client, nodes.JOB_STATUS) == 4)

        await wait_until(finished, what="JobStatus finished")
        counters = [
            await read(client, v) for v in (nodes.CYCLES, nodes.GOOD_CYCLES, nodes.BAD_CYCLES)
        ]
        assert counters == [2, 2, 0]
        assert await read(client, nodes.LAST_CYCLE_TIME) == pytest.approx(45.0)
        assert await read(client, nodes.JOB_TIME) == pytest.approx(90.0)
        truth = sim.cycle_truth()
        assert [c.good for c in truth] == [True, True]
        assert all(0.35 < c.alpha_end < 0.55 for c in truth)  # 35 s at 175 °C, 3-s lag
        reset = await call_full(client, nodes.METHOD_RESET)
        assert reset.StatusCode.is_good()
        assert await read(client, nodes.JOB_STATUS) == 0

    async def test_abort_interrupts_the_job(self, client: Client) -> None:
        """Abort in production: JobStatus interrupted; LoadJob is refused while producing."""
        press, idx = await press_node(client)
        await press.call_method(ua.NodeId(nodes.METHOD_LOAD_JOB, idx), *job_args(cycles=5))
        await press.call_method(ua.NodeId(nodes.METHOD_START, idx))
        busy = await call_full(client, nodes.METHOD_LOAD_JOB, *job_args())
        assert busy.StatusCode.value == ua.StatusCodes.BadInvalidState
        await press.call_method(ua.NodeId(nodes.METHOD_ABORT, idx))
        assert await read(client, nodes.JOB_STATUS) == 3


class TestFaults:
    @pytest.mark.parametrize(
        ("spec", "bit"),
        [
            ("platen_heater:side=top,at=2", nodes.ALARM_PLATEN_HEATER),
            ("pressure_loss:cycle=1", nodes.ALARM_PRESSURE_LOSS),
            ("short_fill:cycle=1", nodes.ALARM_SHORT_FILL),
        ],
    )
    async def test_fault_shows_as_alarm_bit_event_and_bad_cycle(
        self, tmp_path: Path, client_pki: tuple[Path, Path], spec: str, bit: int
    ) -> None:
        """Each fault, in a 1-cycle job: its AlarmBits bit, an event from Press (Severity 700,
        Message beginning with the alarm's name) and BadCycles 1."""
        press_sim = PressSimulator(
            "127.0.0.1", 0, speed=SPEED, cert_dir=tmp_path / "pki", users={USER: PASSWORD},
            faults=[spec],
        )  # fmt: skip
        async with press_sim, await secure_client(press_sim, client_pki) as c:
            press, idx = await press_node(c)
            log = EventLog()
            sub = await c.create_subscription(20, log)
            await sub.subscribe_events(press, ua.ObjectIds.BaseEventType)
            await press.call_method(ua.NodeId(nodes.METHOD_LOAD_JOB, idx), *job_args(1))
            await press.call_method(ua.NodeId(nodes.METHOD_START, idx))

            async def finished() -> bool:
                return bool(await read(c, nodes.JOB_STATUS) == 4)

            await wait_until(finished, what="JobStatus finished")
            assert await read(c, nodes.ALARM_BITS) & bit
            assert await read(c, nodes.BAD_CYCLES) == 1

            async def got_event() -> bool:
                return any(e.Message.Text.startswith(nodes.ALARM_NAMES[bit]) for e in log.events)

            await wait_until(got_event, what="alarm event")
            await sub.delete()
        event = next(e for e in log.events if e.Message.Text.startswith(nodes.ALARM_NAMES[bit]))
        assert event.Severity == 700
        assert event.SourceName == nodes.EVENT_SOURCE


async def run_tool(*argv: str) -> tuple[int, str]:
    """Run one of asyncua's command-line tools without blocking the server's event loop."""
    proc = await asyncio.create_subprocess_exec(
        str(BIN / argv[0]), *argv[1:],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


class TestCommandLineTools:
    async def test_uals_and_uaread_on_an_insecure_server(self) -> None:
        """uals lists the Press folders by their documented node ids; uaread reads
        Press.Actual.PlatenTopTemperature (ns=2, as the doc page says for this simulator)."""
        async with PressSimulator("127.0.0.1", 0, speed=SPEED, insecure=True) as press:
            assert press.namespace_index == 2
            code, out = await run_tool("uals", "-u", press.endpoint, "-n", "ns=2;s=Press")
            assert code == 0, out
            for folder in ("Press.Status", "Press.Counters", "Press.Job", "Press.Actual"):
                assert f"ns=2;s={folder}" in out
            code, out = await run_tool(
                "uaread", "-u", press.endpoint, "-n", "ns=2;s=Press.Actual.PlatenTopTemperature"
            )
            assert code == 0, out
            assert float(out.strip().splitlines()[-1]) == pytest.approx(175.0, abs=1.0)

    async def test_uaread_on_the_secure_server(
        self, sim: PressSimulator, client_pki: tuple[Path, Path]
    ) -> None:
        """uaread with --security Basic256Sha256,SignAndEncrypt,cert,key,server-cert and a
        user reads JobStatus; without --security it fails."""
        security = ",".join(
            ["Basic256Sha256", "SignAndEncrypt", str(client_pki[0]), str(client_pki[1]),
             str(sim.server_cert_path)]
        )  # fmt: skip
        node = "ns=2;s=Press.Status.JobStatus"
        code, out = await run_tool(
            "uaread", "-u", sim.endpoint, "--security", security,
            "--user", USER, "--password", PASSWORD, "-n", node,
        )  # fmt: skip
        assert code == 0, out
        assert out.strip().splitlines()[-1] == "0"
        code, out = await run_tool("uaread", "-u", sim.endpoint, "-n", node)
        assert code != 0


class TestLifecycle:
    async def test_port_zero_binds_a_free_port_and_endpoint_has_the_path(self) -> None:
        """Port 0 asks the OS for a free port; endpoint is opc.tcp://host:port/pkgline/press."""
        async with PressSimulator("127.0.0.1", 0, insecure=True) as press:
            assert press.port > 0
            assert press.endpoint == f"opc.tcp://127.0.0.1:{press.port}/pkgline/press"

    async def test_busy_port_is_a_config_error_naming_the_port(self) -> None:
        """A second simulator on a port in use fails to start with SimConfigError."""
        async with PressSimulator("127.0.0.1", 0, insecure=True) as first:
            second = PressSimulator("127.0.0.1", first.port, insecure=True)
            with pytest.raises(SimConfigError, match=f"port {first.port}: cannot listen"):
                await second.start()
            await second.stop()

    async def test_secure_needs_cert_dir_and_users(self, tmp_path: Path) -> None:
        """Without insecure, no cert_dir or no users is a SimConfigError naming it."""
        with pytest.raises(SimConfigError, match="cert_dir is required"):
            PressSimulator("127.0.0.1", 0, users={USER: PASSWORD})
        with pytest.raises(SimConfigError, match="users: at least one user"):
            PressSimulator("127.0.0.1", 0, cert_dir=tmp_path)

    async def test_cli_runs_until_sigterm(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`sim press` with a password from the environment serves until SIGTERM, returns 0."""
        monkeypatch.setenv("PKGLINE_TEST_PRESS_PW", PASSWORD)
        parser = argparse.ArgumentParser()
        cli.add_parser(parser.add_subparsers())
        args = parser.parse_args(
            ["press", "--port", "0", "--speed", "50", "--cert-dir", str(tmp_path / "pki"),
             "--user", USER, "--password-env", "PKGLINE_TEST_PRESS_PW", "--fault", "short_fill"]
        )  # fmt: skip
        with capture_logs() as logs:
            task = asyncio.create_task(cli.run(args))
            for _ in range(300):
                if any(e["event"] == "press simulator listening" for e in logs):
                    break
                await asyncio.sleep(0.02)
            os.kill(os.getpid(), signal.SIGTERM)
            assert await asyncio.wait_for(task, timeout=10) == 0
        start = next(e for e in logs if e["event"] == "press simulator listening")
        assert start["security"] == "Basic256Sha256 SignAndEncrypt"
        assert start["faults"] == ["short_fill"]
        assert (tmp_path / "pki" / "server-cert.der").exists()
