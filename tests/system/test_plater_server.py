"""The plating-tool simulator over real OPC UA on 127.0.0.1: security, address space,
LoadJob limits, a 2-step job to done against Faraday, a contact fault, and uaread.

Leaked asyncio tasks fail a test through the autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import itertools
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

from drivers.plater import nodes
from simulators.plater import model
from simulators.plater.server import PlaterSimulator

pytestmark = pytest.mark.system

SPEED = 50.0
USER, PASSWORD = "mes", "correct horse battery staple"
CLIENT_URI = "urn:freeopcua:client"
BIN = Path(sys.executable).parent
AREA = model.PlaterParams().plated_area_dm2


def job_args(
    wafer: str = "W-001",
    currents: list[float] | None = None,
    durations: list[float] | None = None,
    ramp_s: float = 2.0,
) -> tuple[ua.Variant, ...]:
    """LoadJob's arguments as typed variants: by default 2 steps (1 ASD 20 s, 2 ASD 40 s)."""
    return (
        ua.Variant(wafer, ua.VariantType.String),
        ua.Variant(11, ua.VariantType.UInt32),
        ua.Variant(currents or [1.0 * AREA, 2.0 * AREA], ua.VariantType.Double),
        ua.Variant(durations or [20.0, 40.0], ua.VariantType.Double),
        ua.Variant(ramp_s, ua.VariantType.Double),
    )


@pytest.fixture(scope="module")
def client_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("client-pki")
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        "pkgline test client",
        {},
        [x509.UniformResourceIdentifier(CLIENT_URI)],
        [ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    cert_path, key_path = directory / "client-cert.der", directory / "client-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return cert_path, key_path


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[PlaterSimulator]:
    async with PlaterSimulator(
        "127.0.0.1", 0, speed=SPEED, cert_dir=tmp_path / "pki", users={USER: PASSWORD}, seed=1
    ) as plater:
        yield plater


async def secure_client(
    sim: PlaterSimulator,
    pki: tuple[Path, Path],
    user: str | None = USER,
    password: str | None = PASSWORD,
) -> Client:
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
async def client(sim: PlaterSimulator, client_pki: tuple[Path, Path]) -> AsyncIterator[Client]:
    c = await secure_client(sim, client_pki)
    async with c:
        yield c


async def read(client: Client, node_id: str) -> Any:
    idx = await client.get_namespace_index(nodes.NAMESPACE_URI)
    return await client.get_node(ua.NodeId(node_id, idx)).read_value()


async def call_full(client: Client, cell: int, method: str, *args: ua.Variant) -> Any:
    idx = await client.get_namespace_index(nodes.NAMESPACE_URI)
    request = ua.CallMethodRequest(
        ObjectId=ua.NodeId(nodes.cell_object(cell), idx),
        MethodId=ua.NodeId(f"{nodes.cell_object(cell)}.{method}", idx),
        InputArguments=list(args),
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


class TestSecurity:
    async def test_secure_session_browses_the_documented_tree(self, client: Client) -> None:
        idx = await client.get_namespace_index(nodes.NAMESPACE_URI)
        plater = client.get_node(ua.NodeId(nodes.ROOT, idx))
        children = {(await c.read_browse_name()).Name for c in await plater.get_children()}
        assert children == {"Bath", "Cell1", "Cell2"}
        cell = client.get_node(ua.NodeId(nodes.cell_object(1), idx))
        names = {(await c.read_browse_name()).Name for c in await cell.get_children()}
        assert names == {v.name for v in nodes.CELL_VARS} | {
            "LoadJob",
            "Start",
            "Abort",
            "Reset",
        }
        assert await read(client, nodes.bath_node("Temperature")) == pytest.approx(22.0, abs=0.5)
        assert await read(client, nodes.cell_node(2, "State")) == 0
        assert await read(client, nodes.cell_node(1, "Step")) == -1

    async def test_only_basic256sha256_sign_and_encrypt_is_offered(
        self, sim: PlaterSimulator
    ) -> None:
        endpoints = await Client(sim.endpoint, timeout=5).connect_and_get_server_endpoints()
        assert [(e.SecurityPolicyUri, e.SecurityMode) for e in endpoints] == [
            (
                security_policies.SecurityPolicyBasic256Sha256.URI,
                ua.MessageSecurityMode.SignAndEncrypt,
            )
        ]
        assert sim.endpoint.endswith(nodes.ENDPOINT_PATH)

    async def test_anonymous_is_refused(
        self, sim: PlaterSimulator, client_pki: tuple[Path, Path]
    ) -> None:
        c = await secure_client(sim, client_pki, user=None, password=None)
        with pytest.raises((UaError, UaStatusCodeError)):
            await c.connect()
        await c.disconnect()

    async def test_wrong_password_is_refused(
        self, sim: PlaterSimulator, client_pki: tuple[Path, Path]
    ) -> None:
        c = await secure_client(sim, client_pki, password="wrong")
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await c.connect()
        await c.disconnect()

    async def test_certificate_made_once_and_reused(self, tmp_path: Path) -> None:
        async with PlaterSimulator(
            "127.0.0.1", 0, cert_dir=tmp_path, users={USER: PASSWORD}
        ) as first:
            assert first.server_cert_path is not None
            made = first.server_cert_path.read_bytes()
        async with PlaterSimulator(
            "127.0.0.1", 0, cert_dir=tmp_path, users={USER: PASSWORD}
        ) as second:
            assert second.server_cert_path is not None
            assert second.server_cert_path.read_bytes() == made
            assert (tmp_path / "server-key.pem").stat().st_mode & 0o077 == 0


class TestMethods:
    async def test_out_of_range_load_job_is_refused_and_changes_nothing(
        self, client: Client
    ) -> None:
        args = list(job_args(currents=[5.0, 250.0]))
        result = await call_full(client, 1, nodes.METHOD_LOAD_JOB, *args)
        assert result.StatusCode.value == ua.StatusCodes.BadInvalidArgument
        codes = [r.value for r in result.InputArgumentResults]
        assert codes == [0, 0, ua.StatusCodes.BadOutOfRange, 0, 0]
        message = result.InputArgumentDiagnosticInfos[2].AdditionalInfo
        assert message == "Currents[1] must be 0..200 A, got 250 A"
        assert await read(client, nodes.cell_node(1, "State")) == 0
        assert await read(client, nodes.cell_node(1, "WaferId")) == ""
        idx = await client.get_namespace_index(nodes.NAMESPACE_URI)
        cell = client.get_node(ua.NodeId(nodes.cell_object(1), idx))
        with pytest.raises(ua.uaerrors.BadInvalidArgument):
            await cell.call_method(
                ua.NodeId(f"{nodes.cell_object(1)}.LoadJob", idx),
                *job_args(durations=[20.0]),
            )

    async def test_start_without_job_and_load_while_plating_are_invalid_state(
        self, client: Client
    ) -> None:
        result = await call_full(client, 2, nodes.METHOD_START)
        assert result.StatusCode.value == ua.StatusCodes.BadInvalidState
        assert (await call_full(client, 2, nodes.METHOD_LOAD_JOB, *job_args())).StatusCode.is_good()
        assert (await call_full(client, 2, nodes.METHOD_START)).StatusCode.is_good()
        again = await call_full(client, 2, nodes.METHOD_LOAD_JOB, *job_args("W-002"))
        assert again.StatusCode.value == ua.StatusCodes.BadInvalidState
        assert (await call_full(client, 2, nodes.METHOD_ABORT)).StatusCode.is_good()
        assert await read(client, nodes.cell_node(2, "State")) == 5
        assert (await call_full(client, 2, nodes.METHOD_RESET)).StatusCode.is_good()
        assert await read(client, nodes.cell_node(2, "State")) == 0

    async def test_two_step_job_runs_to_done_and_thickness_matches_faraday(
        self, sim: PlaterSimulator, client: Client
    ) -> None:
        """1 ASD × 20 s then 2 ASD × 40 s: done, and the truth's thickness is Faraday on
        the true charge at the true η; the integrated measured current agrees with it."""
        ok = await call_full(client, 1, nodes.METHOD_LOAD_JOB, *job_args())
        assert ok.StatusCode.is_good()
        assert await read(client, nodes.cell_node(1, "State")) == 1
        assert await read(client, nodes.cell_node(1, "RunId")) == 11
        assert (await call_full(client, 1, nodes.METHOD_START)).StatusCode.is_good()
        samples: list[tuple[float, float]] = []
        steps: set[int] = set()

        async def done() -> bool:
            state = await read(client, nodes.cell_node(1, "State"))
            if state == 2:
                step = await read(client, nodes.cell_node(1, "Step"))
                # Two reads, not one snapshot: keep the step only if the job had not ended
                # (Step -1) between them, which a loaded machine lets happen.
                if await read(client, nodes.cell_node(1, "State")) == 2:
                    steps.add(step)
                samples.append(
                    (
                        await read(client, nodes.cell_node(1, "JobTime")),
                        await read(client, nodes.cell_node(1, "Current")),
                    )
                )
            return bool(state == 3)

        await wait_until(done, what="cell 1 done")
        assert steps == {0, 1}
        truth = sim.wafer_truth("W-001")
        assert truth.completed
        assert truth.job_time_s == pytest.approx(60.0)
        assert truth.thickness_um == pytest.approx(
            model.thickness_um(truth.charge_c, truth.eta, AREA), rel=1e-9
        )
        # 0.2205 µm per A·min/dm² × (1·20 + 2·40)/60 A·min/dm² × 0.95, less ramp and lag
        assert truth.thickness_um == pytest.approx(0.2205 * 100 / 60 * 0.95, rel=0.03)
        measured = sum(
            0.5 * (i0 + i1) * (t1 - t0) for (t0, i0), (t1, i1) in itertools.pairwise(samples)
        )
        assert measured == pytest.approx(truth.charge_c, rel=0.1)
        assert await read(client, nodes.bath_node("AmpHours")) == pytest.approx(
            truth.charge_c / 3600, rel=1e-6
        )

    async def test_contact_fault_collapses_the_current(
        self, sim: PlaterSimulator, client: Client
    ) -> None:
        class Events:
            def __init__(self) -> None:
                self.events: list[Any] = []

            def event_notification(self, event: Any) -> None:
                self.events.append(event)

        handler = Events()
        idx = await client.get_namespace_index(nodes.NAMESPACE_URI)
        subscription = await client.create_subscription(50, handler)
        await subscription.subscribe_events(ua.NodeId(nodes.ROOT, idx))
        current = 10.0
        args = job_args(currents=[current], durations=[600.0], ramp_s=0.0)
        assert (await call_full(client, 1, nodes.METHOD_LOAD_JOB, *args)).StatusCode.is_good()
        assert (await call_full(client, 1, nodes.METHOD_START)).StatusCode.is_good()

        async def at_setpoint() -> bool:
            return bool(await read(client, nodes.cell_node(1, "Current")) > 9.5)

        await wait_until(at_setpoint, what="full current")
        sim.inject("contact:cell=1")

        async def collapsed() -> bool:
            return bool(await read(client, nodes.cell_node(1, "Current")) < 0.05 * current)

        await wait_until(collapsed, what="current collapse")
        assert await read(client, nodes.cell_node(1, "AlarmBits")) == nodes.ALARM_CONTACT
        assert await read(client, nodes.cell_node(1, "State")) == 2
        assert await read(client, nodes.cell_node(1, "CurrentSetpoint")) == current
        assert sim.true_current(1) == pytest.approx(0.02 * current, rel=0.05)

        async def evented() -> bool:
            return any("contact failure" in str(e.Message.Text) for e in handler.events)

        await wait_until(evented, what="contact alarm event")
        await subscription.delete()
        assert (await call_full(client, 1, nodes.METHOD_ABORT)).StatusCode.is_good()


async def run_tool(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / argv[0]), *argv[1:],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


class TestCommandLineTools:
    async def test_uals_and_uaread_on_an_insecure_server(self) -> None:
        """uals lists Bath and the cells by their documented ids; uaread reads the bath
        temperature (ns=2, as docs/tools/plating-tool.md says)."""
        async with PlaterSimulator("127.0.0.1", 0, speed=SPEED, insecure=True) as plater:
            assert plater.namespace_index == 2
            code, out = await run_tool("uals", "-u", plater.endpoint, "-n", "ns=2;s=Plater")
            assert code == 0, out
            for child in ("Plater.Bath", "Plater.Cell1", "Plater.Cell2"):
                assert f"ns=2;s={child}" in out
            code, out = await run_tool(
                "uaread", "-u", plater.endpoint, "-n", "ns=2;s=Plater.Bath.Temperature"
            )
            assert code == 0, out
            assert float(out.strip().splitlines()[-1]) == pytest.approx(22.0, abs=0.5)
