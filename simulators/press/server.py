"""The molding-press simulator on the network: a PressPlant behind a real asyncua OPC UA server.

The address space is exactly drivers/molding_press/nodes.py: Objects/Press
with folders Status, Counters, Job and Actual, string node ids in the
NAMESPACE_URI namespace, the methods LoadJob/Start/Abort/Reset, and alarm
events from the Press object.

Security by default (DESIGN.md, "Security"): the only endpoint is
Basic256Sha256 SignAndEncrypt, sessions authenticate by user name and
password, anonymous is refused. The server's certificate and key are made on
first start in `cert_dir` and reused after. Client application certificates
are accepted when they are inside their validity period, or, with
`trust_dir`, only when they (or their issuer) are in that directory.
`insecure=True` is the explicit lab opt-out: one None/None endpoint, anonymous.

asyncua 2.1 notes. A method callback that raises gives the client
BadUnexpectedError, so the callbacks return a `ua.CallMethodResult` with the
status code, one status per input argument and, on the bad argument, a
DiagnosticInfo whose AdditionalInfo is the message naming the argument and
its limit. asyncua accepts a None-security channel for discovery whatever the
endpoints say, and would activate a session on it: `_PressUsers` refuses that.
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
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

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

from drivers.molding_press import nodes
from simulators.clock import SimClock
from simulators.errors import SimConfigError
from simulators.press import model
from simulators.press.faults import Fault, FaultKind, parse_fault
from simulators.press.plant import (
    AlarmEvent,
    CommandRejectedError,
    CycleTruth,
    InvalidArgumentError,
    InvalidStateError,
    PressJob,
    PressPlant,
    PressReadings,
    argument_errors,
)

log = structlog.get_logger("simulators.press")

TICK_WALL_S = 0.02  # how often the background task catches the plant up and publishes
APPLICATION_URI = "urn:pkgline:sim:molding-press"
SERVER_NAME = "pkgline molding press simulator"
CERT_FILE = "server-cert.der"
KEY_FILE = "server-key.pem"
CERT_DAYS = 3650
CERT_RENEW_DAYS = 30  # a certificate this close to expiry is replaced at start

_VARIANT = {
    "Int32": ua.VariantType.Int32,
    "UInt32": ua.VariantType.UInt32,
    "Double": ua.VariantType.Double,
    "String": ua.VariantType.String,
    "Boolean": ua.VariantType.Boolean,
}
_INITIAL: dict[str, object] = {
    "Int32": 0,
    "UInt32": 0,
    "Double": 0.0,
    "String": "",
    "Boolean": False,
}
# UNECE Recommendation 20 common codes, as OPC UA's EUInformation wants them (Part 8, 5.6.3).
_UNECE = {
    "°C": ("CEL", "degree Celsius"),
    "kN": ("B47", "kilonewton"),
    "MPa": ("MPA", "megapascal"),
    "mm": ("MMT", "millimetre"),
    "s": ("SEC", "second"),
}
UNECE_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"

# LoadJob's input arguments, in order: (name, wire type, description).
LOAD_JOB_ARGS: tuple[tuple[str, str, str], ...] = (
    ("Name", "String", "job / recipe name, 1..64 printable characters"),
    ("RunId", "UInt32", "supervisor's run id, stamped on the press"),
    ("MoldTemperature", "Double", "°C, {}..{}"),
    ("ClampForce", "Double", "kN, {}..{}"),
    ("TransferPressure", "Double", "MPa, {}..{}"),
    ("FillTime", "Double", "s, {}..{}"),
    ("CureTime", "Double", "s, {}..{}"),
    ("Cycles", "Int32", "cycles (wafers), {}..{}"),
)
_INTEGER_VARIANTS = frozenset(
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
_NUMBER_VARIANTS = _INTEGER_VARIANTS | {ua.VariantType.Float, ua.VariantType.Double}


def unece_unit_id(code: str) -> int:
    """OPC UA UnitId of a UNECE common code: its ASCII bytes as one integer ("CEL" → 4408652)."""
    value = 0
    for ch in code:
        value = (value << 8) | ord(ch)
    return value


def node_values(readings: PressReadings) -> dict[str, object]:
    """Every variable of nodes.py (by node id) with its value in `readings`."""
    job = readings.job
    values: dict[str, object] = {
        nodes.JOB_STATUS.node: int(readings.job_status),
        nodes.PRODUCTION_STATUS.node: int(readings.production_status),
        nodes.CYCLE_STATE.node: int(readings.cycle_state),
        nodes.ALARM_BITS.node: readings.alarm_bits,
        nodes.RUN_ID.node: readings.run_id,
        nodes.CYCLE_TIME.node: readings.cycle_time_s,
        nodes.JOB_TIME.node: readings.job_time_s,
        nodes.CURRENT_CYCLE.node: readings.current_cycle,
        nodes.CYCLES.node: readings.cycles,
        nodes.GOOD_CYCLES.node: readings.good_cycles,
        nodes.BAD_CYCLES.node: readings.bad_cycles,
        nodes.LAST_CYCLE_TIME.node: readings.last_cycle_time_s,
        nodes.PLATEN_TOP.node: readings.platen_top_c,
        nodes.PLATEN_BOTTOM.node: readings.platen_bottom_c,
        nodes.CLAMP_FORCE.node: readings.clamp_force_kn,
        nodes.TRANSFER_PRESSURE.node: readings.transfer_pressure_mpa,
        nodes.RAM_POSITION.node: readings.ram_position_mm,
        nodes.JOB_NAME.node: job.name if job else "",
        nodes.JOB_MOLD_TEMP.node: job.mold_temp_c if job else 0.0,
        nodes.JOB_CLAMP_FORCE.node: job.clamp_force_kn if job else 0.0,
        nodes.JOB_TRANSFER_PRESSURE.node: job.transfer_pressure_mpa if job else 0.0,
        nodes.JOB_FILL_TIME.node: job.fill_time_s if job else 0.0,
        nodes.JOB_CURE_TIME.node: job.cure_time_s if job else 0.0,
        nodes.JOB_CYCLES.node: job.cycles if job else 0,
    }
    return values


ALL_VARS: tuple[nodes.Var, ...] = nodes.PROCESS_VARS + nodes.JOB_VARS


class _PressUsers(UserManager):
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


class PressSimulator:
    """A simulated molding press serving nodes.py over OPC UA.

    `async with PressSimulator("127.0.0.1", 0, speed=100, cert_dir=d, users={"mes": pw})`
    starts the server and the physics; `sim.port` / `sim.endpoint` are known
    after start (pass port 0 for any free port); `sim.server_cert_path` is the
    certificate a client pins. Faults: spec strings or `Fault`s, at start or via `inject`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = nodes.DEFAULT_PORT,
        *,
        speed: float = 1.0,
        cert_dir: Path | None = None,
        users: Mapping[str, str] | None = None,
        insecure: bool = False,
        trust_dir: Path | None = None,
        faults: Iterable[Fault | str] = (),
        seed: int = 0,
        params: model.PressParams | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise SimConfigError(f"port must be 0..65535, got {port}")
        users = dict(users or {})
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
        self.host = host
        self.insecure = insecure
        self.cert_dir = cert_dir
        self.trust_dir = trust_dir
        self._requested_port = port
        self._users = users
        self._clock = SimClock(speed)  # validates speed; restarted in start()
        self.plant = PressPlant(params, [self._fault(f) for f in faults], seed)
        self._server: Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._events: EventGenerator | None = None
        self._nodes: dict[str, tuple[Node, ua.VariantType]] = {}
        self._published: dict[str, object] = {}
        self._last_sim_s = 0.0
        self._port: int | None = None
        self._idx = 0

    @staticmethod
    def _fault(fault: Fault | str) -> Fault:
        return parse_fault(fault) if isinstance(fault, str) else fault

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
        return f"opc.tcp://{_url_host(self.host)}:{self.port}{nodes.ENDPOINT_PATH}"

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
        users = _PressUsers(self._users, anonymous=self.insecure)
        server = Server(user_manager=users)
        await server.init()
        server.set_server_name(SERVER_NAME)
        await server.set_application_uri(APPLICATION_URI)
        server.set_endpoint(
            f"opc.tcp://{_url_host(self.host)}:{self._requested_port}{nodes.ENDPOINT_PATH}"
        )
        if self.insecure:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
            server.set_identity_tokens([ua.AnonymousIdentityToken])
        else:
            assert self.cert_dir is not None
            cert, key = await ensure_server_certificate(self.cert_dir, self.host)
            await server.load_certificate(str(cert))
            await server.load_private_key(str(key))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            server.set_identity_tokens([ua.UserNameIdentityToken])
            server.set_certificate_validator(await self._client_validator())
        await self._build(server)
        server.subscribe_server_callback(CallbackType.PreRead, self._before_read)
        # asyncua's own clock task sleeps 1 s between updates and stop() waits it out;
        # our tick loop keeps ServerStatus.CurrentTime instead (stop is then immediate).
        server.disable_clock()
        try:
            await server.start()
        except OSError:
            with contextlib.suppress(Exception):
                await server.stop()
            raise SimConfigError(
                f"port {self._requested_port}: cannot listen on {self.host}:{self._requested_port}"
                " (in use, or not an address of this host)"
            ) from None
        assert server.bserver is not None
        self._port = int(server.bserver.port)
        self._server = server
        self._clock = SimClock(self._clock.speed)
        self._last_sim_s = 0.0
        await self._publish()
        self._task = asyncio.create_task(self._run(), name="press-sim-physics")
        log.info(
            "press simulator listening",
            endpoint=self.endpoint,
            security="None (insecure)" if self.insecure else "Basic256Sha256 SignAndEncrypt",
            speed=self._clock.speed,
            faults=[str(f) for f in self.plant.faults.faults],
        )

    async def _client_validator(self) -> Callable[..., Any]:
        """Client certificates: valid now; with a trust dir also trusted (directly or by CA)."""
        if self.trust_dir is None:
            return CertificateValidator(CertificateValidatorOptions.TIME_RANGE).validate
        store = TrustStore([self.trust_dir], [])
        try:
            await store.load()
        except (OSError, ValueError) as exc:
            raise SimConfigError(
                f"trust_dir {self.trust_dir}: holds something that is not a certificate ({exc})"
            ) from None
        options = CertificateValidatorOptions.TIME_RANGE | CertificateValidatorOptions.TRUSTED
        return CertificateValidator(options, store).validate

    async def stop(self) -> None:
        """Stop the physics task and close the server and its connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop()
            self._nodes.clear()
            self._published.clear()
            log.info("press simulator stopped", port=self._port)

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
            if loop.time() >= next_clock:
                next_clock = loop.time() + 1.0
                await self._write_server_time()

    async def _write_server_time(self) -> None:
        """ServerStatus.CurrentTime, once a second (what asyncua's clock task would do)."""
        server = self._server
        if server is None:
            return
        status_node = server.get_node(ObjectIds.Server_ServerStatus)
        status = copy.copy(await status_node.read_value())
        status.CurrentTime = datetime.datetime.now(datetime.UTC)
        await status_node.write_value(status)
        await server.get_node(ObjectIds.Server_ServerStatus_CurrentTime).write_value(
            ua.Variant(status.CurrentTime, ua.VariantType.DateTime)
        )

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

    # --- address space ------------------------------------------------------------------

    async def _build(self, server: Server) -> None:
        idx = await server.register_namespace(nodes.NAMESPACE_URI)
        self._idx = idx
        press = await server.nodes.objects.add_object(
            _nid(nodes.ROOT, idx), ua.QualifiedName(nodes.ROOT, idx)
        )
        await _describe(press, "the molding press (EUROMAP 83 style job, counters, actuals)")
        folders: dict[str, Node] = {}
        for var in ALL_VARS:
            folder_id, _, name = var.node.rpartition(".")
            folder = folders.get(folder_id)
            if folder is None:
                folder = await press.add_folder(
                    _nid(folder_id, idx),
                    ua.QualifiedName(folder_id.rpartition(".")[2], idx),
                )
                folders[folder_id] = folder
            vtype = _VARIANT[var.type]
            node = await folder.add_variable(
                _nid(var.node, idx),
                ua.QualifiedName(name, idx),
                ua.Variant(_INITIAL[var.type], vtype),
            )
            await _describe(node, var.description)
            if var.writable:
                await node.set_writable()
            if var.unit in _UNECE:
                code, long_name = _UNECE[var.unit]
                eu = ua.EUInformation(
                    NamespaceUri=UNECE_NAMESPACE,
                    UnitId=unece_unit_id(code),
                    DisplayName=ua.LocalizedText(var.unit),
                    Description=ua.LocalizedText(long_name),
                )
                await node.add_property(
                    _nid(f"{var.node}.EngineeringUnits", idx), "EngineeringUnits", eu
                )
            self._nodes[var.node] = (node, vtype)
        await self._add_methods(press, idx)
        self._events = await server.get_event_generator(ObjectIds.BaseEventType, press.nodeid)
        self._events.event.SourceName = nodes.EVENT_SOURCE

    async def _add_methods(self, press: Node, idx: int) -> None:
        args = []
        for name, wire_type, description in LOAD_JOB_ARGS:
            text = description
            if name in nodes.LIMITS:
                lo, hi = nodes.LIMITS[name]
                text = description.format(f"{lo:g}", f"{hi:g}")
            args.append(
                ua.Argument(
                    Name=name,
                    DataType=ua.NodeId(ua.Int32(_VARIANT[wire_type].value)),
                    ValueRank=-1,
                    ArrayDimensions=[],
                    Description=ua.LocalizedText(text),
                )
            )
        methods: list[tuple[str, Callable[..., Any], list[ua.Argument], str]] = [
            (nodes.METHOD_LOAD_JOB, self._load_job, args, "load a job (refused in production)"),
            (nodes.METHOD_START, self._start, [], "start the loaded job"),
            (nodes.METHOD_ABORT, self._abort, [], "interrupt the job in production"),
            (nodes.METHOD_RESET, self._reset, [], "clear the job and latched alarms"),
        ]
        for node_id, callback, inputs, description in methods:
            method = await press.add_method(
                _nid(node_id, idx),
                ua.QualifiedName(node_id.rpartition(".")[2], idx),
                callback,
                inputs,
                [],
            )
            await _describe(method, description)

    async def _publish(self) -> None:
        """Write the values that changed into the address space; send pending alarm events."""
        server = self._server
        if server is None:
            return
        now = cast(ua.DateTime, datetime.datetime.now(datetime.UTC))
        for node_id, value in node_values(self.plant.readings()).items():
            if self._published.get(node_id, _UNSET) == value:
                continue
            node, vtype = self._nodes[node_id]
            await server.write_attribute_value(
                node.nodeid,
                ua.DataValue(ua.Variant(value, vtype), SourceTimestamp=now, ServerTimestamp=now),
            )
            self._published[node_id] = value
        for event in self.plant.drain_events():
            await self._send(event)

    async def _send(self, event: AlarmEvent) -> None:
        if self._events is None:
            return
        self._events.event.Severity = event.severity
        await self._events.trigger(message=event.message)

    # --- methods ------------------------------------------------------------------------

    async def _load_job(self, _parent: ua.NodeId, *args: ua.Variant) -> Any:
        expected = len(LOAD_JOB_ARGS)
        if len(args) != expected:
            code = StatusCodes.BadArgumentsMissing
            if len(args) > expected:
                code = StatusCodes.BadTooManyArguments
            return _refused("LoadJob", code, f"LoadJob takes {expected} arguments, got {len(args)}")
        self._catch_up()
        results: list[ua.StatusCode] = []
        diagnostics: list[ua.DiagnosticInfo] = []
        values: dict[str, object] = {}
        for (name, wire_type, _), variant in zip(LOAD_JOB_ARGS, args, strict=True):
            value, problem = _convert(name, wire_type, variant)
            values[name] = value
            results.append(_status(StatusCodes.Good if problem is None else problem[0]))
            diagnostics.append(_diagnostic(None if problem is None else problem[1]))
        if not any(r.is_bad() for r in results):
            job = PressJob(
                name=str(values["Name"]),
                run_id=_as_int(values["RunId"]),
                mold_temp_c=_as_float(values["MoldTemperature"]),
                clamp_force_kn=_as_float(values["ClampForce"]),
                transfer_pressure_mpa=_as_float(values["TransferPressure"]),
                fill_time_s=_as_float(values["FillTime"]),
                cure_time_s=_as_float(values["CureTime"]),
                cycles=_as_int(values["Cycles"]),
            )
            order = [name for name, _, _ in LOAD_JOB_ARGS]
            for err in argument_errors(job):
                i = order.index(err.argument)
                results[i] = _status(StatusCodes.BadOutOfRange)
                diagnostics[i] = _diagnostic(str(err))
            if not any(r.is_bad() for r in results):
                try:
                    self.plant.load_job(job)
                except CommandRejectedError as exc:
                    return _rejected("LoadJob", exc)
                await self._publish()
                return []
        messages = [d.AdditionalInfo for d in diagnostics if d.AdditionalInfo]
        log.info("method refused", method="LoadJob", code="BadInvalidArgument", reason=messages)
        return ua.CallMethodResult(
            StatusCode=_status(StatusCodes.BadInvalidArgument),
            InputArgumentResults=results,
            InputArgumentDiagnosticInfos=diagnostics,
        )

    async def _start(self, _parent: ua.NodeId, *args: ua.Variant) -> Any:
        return await self._command("Start", self.plant.start, args)

    async def _abort(self, _parent: ua.NodeId, *args: ua.Variant) -> Any:
        return await self._command("Abort", self.plant.abort, args)

    async def _reset(self, _parent: ua.NodeId, *args: ua.Variant) -> Any:
        return await self._command("Reset", self.plant.reset, args)

    async def _command(
        self, name: str, action: Callable[[], None], args: tuple[ua.Variant, ...]
    ) -> Any:
        if args:
            return _refused(name, StatusCodes.BadTooManyArguments, f"{name} takes no arguments")
        self._catch_up()
        try:
            action()
        except CommandRejectedError as exc:
            return _rejected(name, exc)
        await self._publish()
        return []

    # --- Python API (tests, demo) --------------------------------------------------------

    def truth(self) -> model.PressState:
        """The model's true state now (platen temperatures without noise, EMC α)."""
        self._catch_up()
        return self.plant.state

    def cycle_truth(self) -> tuple[CycleTruth, ...]:
        """Per cycle (wafer) of the present job: EMC α and Tg at mold open, EMC history."""
        self._catch_up()
        return self.plant.cycle_truth()

    def readings(self) -> PressReadings:
        """What the variables carry now."""
        self._catch_up()
        return self.plant.readings()

    def inject(self, fault: Fault | str) -> Fault:
        """Switch a fault on now (or arm it, with `at=`); returns the parsed fault."""
        self._catch_up()
        parsed = self._fault(fault)
        self.plant.inject(parsed)
        return parsed

    def clear(self, kind: FaultKind | str | None = None) -> list[Fault]:
        """Switch faults off (latched alarms stay until Reset); returns them."""
        self._catch_up()
        return self.plant.clear(kind)


_UNSET = object()


def _url_host(host: str) -> str:
    """`host` as it goes into a URL (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host else host


async def _describe(node: Node, text: str) -> None:
    await node.write_attribute(
        AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(text)))
    )


def _convert(
    name: str, wire_type: str, variant: ua.Variant
) -> tuple[object, tuple[int, str] | None]:
    """A method argument as a Python value, or (status code, message) when its type is wrong.

    Double arguments take any numeric variant (integers convert exactly);
    integer arguments take integer variants; Name takes a String.
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
        if vt not in _NUMBER_VARIANTS:
            return 0.0, mismatch
        return float(value), None
    if vt not in _INTEGER_VARIANTS:
        return 0, mismatch
    return int(value), None


def _as_float(value: object) -> float:
    assert isinstance(value, float)
    return value


def _as_int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _nid(text: str, idx: int) -> ua.NodeId:
    """A string node id in namespace `idx`."""
    return ua.NodeId(ua.String(text), ua.Int16(idx))


def _status(code: int) -> ua.StatusCode:
    return ua.StatusCode(ua.UInt32(code))


def _diagnostic(message: str | None) -> ua.DiagnosticInfo:
    return (
        ua.DiagnosticInfo()
        if message is None
        else ua.DiagnosticInfo(AdditionalInfo=ua.String(message))
    )


def _refused(method: str, code: int, message: str) -> ua.StatusCode:
    log.info("method refused", method=method, code=_status(code).name, reason=message)
    return _status(code)


def _rejected(method: str, exc: CommandRejectedError) -> ua.StatusCode:
    if isinstance(exc, InvalidArgumentError):
        return _refused(method, StatusCodes.BadInvalidArgument, str(exc))
    assert isinstance(exc, InvalidStateError)
    return _refused(method, StatusCodes.BadInvalidState, str(exc))


async def ensure_server_certificate(cert_dir: Path, host: str) -> tuple[Path, Path]:
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
        x509.UniformResourceIdentifier(APPLICATION_URI),
        x509.DNSName(socket.gethostname()),
        x509.DNSName("localhost"),
    ]
    for address in {host, "127.0.0.1"}:
        with contextlib.suppress(ValueError):
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
    if not _is_ip(host) and host not in ("localhost", socket.gethostname()):
        names.append(x509.DNSName(host))
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        SERVER_NAME,
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


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
