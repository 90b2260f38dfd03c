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
endpoints say, and would activate a session on it: `opcua_base.SessionUsers` refuses that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import structlog
from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes

from drivers.molding_press import nodes
from simulators import opcua_base as base
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

APPLICATION_URI = "urn:pkgline:sim:molding-press"
SERVER_NAME = "pkgline molding press simulator"
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


class PressSimulator(base.OpcuaSimulator[PressPlant]):
    """A simulated molding press serving nodes.py over OPC UA.

    `async with PressSimulator("127.0.0.1", 0, speed=100, cert_dir=d, users={"mes": pw})`
    starts the server and the physics; `sim.port` / `sim.endpoint` are known
    after start (pass port 0 for any free port); `sim.server_cert_path` is the
    certificate a client pins. Faults: spec strings or `Fault`s, at start or via `inject`.
    """

    NAME = "press"
    APPLICATION_URI = APPLICATION_URI
    SERVER_NAME = SERVER_NAME
    ENDPOINT_PATH = nodes.ENDPOINT_PATH
    _log = log

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
        self._init_server(
            host,
            port,
            speed=speed,
            cert_dir=cert_dir,
            users=users,
            insecure=insecure,
            trust_dir=trust_dir,
        )
        self.plant = PressPlant(params, [self._fault(f) for f in faults], seed)

    @staticmethod
    def _fault(fault: Fault | str) -> Fault:
        return parse_fault(fault) if isinstance(fault, str) else fault

    # --- address space ------------------------------------------------------------------

    async def _build(self, server: Server) -> None:
        idx = await server.register_namespace(nodes.NAMESPACE_URI)
        self._idx = idx
        press = await server.nodes.objects.add_object(
            base.nid(nodes.ROOT, idx), ua.QualifiedName(nodes.ROOT, idx)
        )
        await base.describe(press, "the molding press (EUROMAP 83 style job, counters, actuals)")
        folders: dict[str, Node] = {}
        for var in ALL_VARS:
            folder_id, _, name = var.node.rpartition(".")
            folder = folders.get(folder_id)
            if folder is None:
                folder = await press.add_folder(
                    base.nid(folder_id, idx),
                    ua.QualifiedName(folder_id.rpartition(".")[2], idx),
                )
                folders[folder_id] = folder
            vtype = base.VARIANT[var.type]
            node = await folder.add_variable(
                base.nid(var.node, idx),
                ua.QualifiedName(name, idx),
                ua.Variant(base.INITIAL[var.type], vtype),
            )
            await base.describe(node, var.description)
            if var.writable:
                await node.set_writable()
            eu = base.engineering_units(var.unit)
            if eu is not None:
                await node.add_property(
                    base.nid(f"{var.node}.EngineeringUnits", idx), "EngineeringUnits", eu
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
                    DataType=ua.NodeId(ua.Int32(base.VARIANT[wire_type].value)),
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
                base.nid(node_id, idx),
                ua.QualifiedName(node_id.rpartition(".")[2], idx),
                callback,
                inputs,
                [],
            )
            await base.describe(method, description)

    def _node_values(self) -> dict[str, object]:
        return node_values(self.plant.readings())

    async def _send_events(self) -> None:
        for event in self.plant.drain_events():
            await self._send(event)

    def _listening_info(self) -> dict[str, object]:
        return {"faults": [str(f) for f in self.plant.faults.faults]}

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
            return base.refused(
                "LoadJob", code, f"LoadJob takes {expected} arguments, got {len(args)}"
            )
        self._catch_up()
        results: list[ua.StatusCode] = []
        diagnostics: list[ua.DiagnosticInfo] = []
        values: dict[str, object] = {}
        for (name, wire_type, _), variant in zip(LOAD_JOB_ARGS, args, strict=True):
            value, problem = base.convert(name, wire_type, variant)
            values[name] = value
            results.append(base.status(StatusCodes.Good if problem is None else problem[0]))
            diagnostics.append(base.diagnostic(None if problem is None else problem[1]))
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
                results[i] = base.status(StatusCodes.BadOutOfRange)
                diagnostics[i] = base.diagnostic(str(err))
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
            StatusCode=base.status(StatusCodes.BadInvalidArgument),
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
            return base.refused(name, StatusCodes.BadTooManyArguments, f"{name} takes no arguments")
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


def _as_float(value: object) -> float:
    assert isinstance(value, float)
    return value


def _as_int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _rejected(method: str, exc: CommandRejectedError) -> ua.StatusCode:
    if isinstance(exc, InvalidArgumentError):
        return base.refused(method, StatusCodes.BadInvalidArgument, str(exc))
    assert isinstance(exc, InvalidStateError)
    return base.refused(method, StatusCodes.BadInvalidState, str(exc))
