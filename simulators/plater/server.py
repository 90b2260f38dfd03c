"""The plating-tool simulator on the network: a PlaterPlant behind a real asyncua OPC UA server.

The address space is exactly drivers/plater/nodes.py: Objects/Plater with
the folder Bath and the objects Cell1..CellN, string node ids in the
NAMESPACE_URI namespace, the methods LoadJob/Start/Abort/Reset on each cell,
and alarm events from the Plater object (SourceName "Plater.Bath" or
"Plater.Cell<k>").

Security by default (DESIGN.md, "Security", the same as the press; plumbing
in simulators/opcua_base.py): the only endpoint is Basic256Sha256
SignAndEncrypt, sessions authenticate by user name and password, anonymous
is refused, a None channel gets no session. The server's certificate and key
are made on first start in `cert_dir` and reused after. `insecure=True` is
the explicit lab opt-out: one None/None endpoint, anonymous.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, cast

import structlog
from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes

from drivers.plater import nodes
from simulators import opcua_base as base
from simulators.plater import model
from simulators.plater.faults import Fault, FaultKind, parse_fault
from simulators.plater.plant import (
    AlarmEvent,
    CommandRejectedError,
    InvalidArgumentError,
    PlaterPlant,
    PlaterReadings,
    PlatingJob,
    WaferTruth,
    argument_errors,
)

log = structlog.get_logger("simulators.plater")

APPLICATION_URI = "urn:pkgline:sim:plating-tool"
SERVER_NAME = "pkgline plating tool simulator"

# LoadJob's input arguments, in order: (name, wire type, array?, description).
LOAD_JOB_ARGS: tuple[tuple[str, str, bool, str], ...] = (
    ("WaferId", "String", False, "wafer id, 1..64 printable characters"),
    ("RunId", "UInt32", False, "supervisor's run id, stamped on the cell"),
    ("Currents", "Double", True, "A per step, {}..{}; 1..{} steps"),
    ("Durations", "Double", True, "s per step, {}..{}; one per step"),
    ("RampS", "Double", False, "s, {}..{}: linear ramp from the previous step's current"),
)
_LIMIT_OF = {"Currents": "Current", "Durations": "Duration", "RampS": "RampS"}


def node_values(readings: PlaterReadings) -> dict[str, object]:
    """Every variable of nodes.py (by node id) with its value in `readings`."""
    bath = readings.bath
    values: dict[str, object] = {
        nodes.bath_node("Temperature"): bath.temperature_c,
        nodes.bath_node("Agitation"): bath.agitation_rpm,
        nodes.bath_node("AmpHours"): bath.amp_hours,
        nodes.bath_node("AlarmBits"): bath.alarm_bits,
    }
    for k, cell in enumerate(readings.cells, start=1):
        values |= {
            nodes.cell_node(k, "State"): int(cell.state),
            nodes.cell_node(k, "WaferId"): cell.wafer_id,
            nodes.cell_node(k, "RunId"): cell.run_id,
            nodes.cell_node(k, "Step"): cell.step,
            nodes.cell_node(k, "JobTime"): cell.job_time_s,
            nodes.cell_node(k, "CurrentSetpoint"): cell.current_setpoint_a,
            nodes.cell_node(k, "Current"): cell.current_a,
            nodes.cell_node(k, "Voltage"): cell.voltage_v,
            nodes.cell_node(k, "AlarmBits"): cell.alarm_bits,
        }
    return values


class PlaterSimulator(base.OpcuaSimulator[PlaterPlant]):
    """A simulated Cu plating tool serving nodes.py over OPC UA.

    `async with PlaterSimulator("127.0.0.1", 0, speed=50, cert_dir=d, users={"mes": pw})`
    starts the server and the physics; `sim.port` / `sim.endpoint` are known
    after start (pass port 0 for any free port); `sim.server_cert_path` is the
    certificate a client pins. Faults: spec strings or `Fault`s, at start or via `inject`.
    """

    NAME = "plater"
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
        cells: int = nodes.CELLS,
        params: model.PlaterParams | None = None,
        amp_hours0: float = 0.0,
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
        self.plant = PlaterPlant(
            params, [self._fault(f) for f in faults], seed, cells=cells, amp_hours0=amp_hours0
        )

    @staticmethod
    def _fault(fault: Fault | str) -> Fault:
        return parse_fault(fault) if isinstance(fault, str) else fault

    @property
    def cells(self) -> int:
        return len(self.plant.cells)

    # --- address space ------------------------------------------------------------------

    async def _build(self, server: Server) -> None:
        idx = await server.register_namespace(nodes.NAMESPACE_URI)
        self._idx = idx
        plater = await server.nodes.objects.add_object(
            base.nid(nodes.ROOT, idx), ua.QualifiedName(nodes.ROOT, idx)
        )
        await base.describe(plater, f"the Cu plating tool: one bath, {self.cells} cells")
        bath = await plater.add_folder(
            base.nid(f"{nodes.ROOT}.Bath", idx), ua.QualifiedName("Bath", idx)
        )
        await base.describe(bath, "the shared plating bath")
        for var in nodes.BATH_VARS:
            await self._add_var(bath, nodes.bath_node(var.name), var, idx)
        for k in range(1, self.cells + 1):
            cell = await plater.add_object(
                base.nid(nodes.cell_object(k), idx), ua.QualifiedName(f"Cell{k}", idx)
            )
            await base.describe(cell, f"plating cell {k}: one wafer, its own rectifier")
            for var in nodes.CELL_VARS:
                await self._add_var(cell, nodes.cell_node(k, var.name), var, idx)
            await self._add_methods(cell, k, idx)
        self._events = await server.get_event_generator(ObjectIds.BaseEventType, plater.nodeid)
        self._events.event.SourceName = nodes.ROOT

    async def _add_var(self, parent: Node, node_id: str, var: nodes.Var, idx: int) -> None:
        vtype = base.VARIANT[var.type]
        node = await parent.add_variable(
            base.nid(node_id, idx),
            ua.QualifiedName(var.name, idx),
            ua.Variant(base.INITIAL[var.type], vtype),
        )
        await base.describe(node, var.description)
        eu = base.engineering_units(var.unit)
        if eu is not None:
            await node.add_property(
                base.nid(f"{node_id}.EngineeringUnits", idx), "EngineeringUnits", eu
            )
        self._nodes[node_id] = (node, vtype)

    async def _add_methods(self, cell: Node, k: int, idx: int) -> None:
        args = []
        for name, wire_type, array, description in LOAD_JOB_ARGS:
            text = description
            if name in _LIMIT_OF:
                lo, hi = nodes.LIMITS[_LIMIT_OF[name]]
                text = description.format(f"{lo:g}", f"{hi:g}", nodes.MAX_STEPS)
            args.append(
                ua.Argument(
                    Name=name,
                    DataType=ua.NodeId(ua.Int32(base.VARIANT[wire_type].value)),
                    ValueRank=1 if array else -1,
                    ArrayDimensions=[0] if array else [],
                    Description=ua.LocalizedText(text),
                )
            )
        methods: list[tuple[str, Callable[..., Any], list[ua.Argument], str]] = [
            (nodes.METHOD_LOAD_JOB, self._load_job_cb(k), args, "load a wafer's job"),
            (nodes.METHOD_START, self._command_cb(k, "Start"), [], "start plating"),
            (nodes.METHOD_ABORT, self._command_cb(k, "Abort"), [], "stop plating"),
            (nodes.METHOD_RESET, self._command_cb(k, "Reset"), [], "clear job and alarms"),
        ]
        for name, callback, inputs, description in methods:
            node_id = f"{nodes.cell_object(k)}.{name}"
            method = await cell.add_method(
                base.nid(node_id, idx), ua.QualifiedName(name, idx), callback, inputs, []
            )
            await base.describe(method, description)

    def _node_values(self) -> dict[str, object]:
        return node_values(self.plant.readings())

    async def _send_events(self) -> None:
        for event in self.plant.drain_events():
            await self._send(event)

    def _listening_info(self) -> dict[str, object]:
        return {"cells": self.cells, "faults": [str(f) for f in self.plant.faults.faults]}

    async def _send(self, event: AlarmEvent) -> None:
        if self._events is None:
            return
        self._events.event.Severity = event.severity
        self._events.event.SourceName = event.source
        await self._events.trigger(message=event.message)

    # --- methods ------------------------------------------------------------------------

    def _load_job_cb(self, k: int) -> Callable[..., Any]:
        async def load_job(_parent: ua.NodeId, *args: ua.Variant) -> Any:
            return await self._load_job(k, args)

        return load_job

    def _command_cb(self, k: int, name: str) -> Callable[..., Any]:
        actions = {"Start": self.plant.start, "Abort": self.plant.abort, "Reset": self.plant.reset}

        async def command(_parent: ua.NodeId, *args: ua.Variant) -> Any:
            if args:
                return base.refused(
                    name, StatusCodes.BadTooManyArguments, f"{name} takes no arguments"
                )
            self._catch_up()
            try:
                actions[name](k)
            except CommandRejectedError as exc:
                return _rejected(name, exc)
            await self._publish()
            return []

        return command

    async def _load_job(self, k: int, args: tuple[ua.Variant, ...]) -> Any:
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
        for (name, wire_type, array, _), variant in zip(LOAD_JOB_ARGS, args, strict=True):
            value, problem = _convert(name, wire_type, array, variant)
            values[name] = value
            results.append(base.status(StatusCodes.Good if problem is None else problem[0]))
            diagnostics.append(base.diagnostic(None if problem is None else problem[1]))
        if not any(r.is_bad() for r in results):
            job = PlatingJob(
                wafer_id=cast(str, values["WaferId"]),
                run_id=cast(int, values["RunId"]),
                currents_a=cast(tuple[float, ...], values["Currents"]),
                durations_s=cast(tuple[float, ...], values["Durations"]),
                ramp_s=cast(float, values["RampS"]),
            )
            order = [name for name, *_ in LOAD_JOB_ARGS]
            for err in argument_errors(job):
                i = order.index(err.argument)
                results[i] = base.status(StatusCodes.BadOutOfRange)
                diagnostics[i] = base.diagnostic(str(err))
            if not any(r.is_bad() for r in results):
                try:
                    self.plant.load_job(k, job)
                except CommandRejectedError as exc:
                    return _rejected("LoadJob", exc)
                await self._publish()
                return []
        messages = [d.AdditionalInfo for d in diagnostics if d.AdditionalInfo]
        log.info(
            "method refused", method="LoadJob", cell=k, code="BadInvalidArgument", reason=messages
        )
        return ua.CallMethodResult(
            StatusCode=base.status(StatusCodes.BadInvalidArgument),
            InputArgumentResults=results,
            InputArgumentDiagnosticInfos=diagnostics,
        )

    # --- Python API (tests, demo) --------------------------------------------------------

    def readings(self) -> PlaterReadings:
        """What the variables carry now."""
        self._catch_up()
        return self.plant.readings()

    def wafer_truth(self, wafer_id: str) -> WaferTruth:
        """True charge (C), η and thickness (µm) of the last plating of `wafer_id`."""
        self._catch_up()
        return self.plant.wafer_truth(wafer_id)

    def true_current(self, cell: int) -> float:
        """The current really reaching the wafer in `cell` now (A)."""
        self._catch_up()
        return self.plant.true_current(cell)

    def inject(self, fault: Fault | str) -> Fault:
        """Switch a fault on now (or arm it, with `at=`); returns the parsed fault."""
        self._catch_up()
        parsed = self._fault(fault)
        self.plant.inject(parsed)
        return parsed

    def clear(self, kind: FaultKind | str | None = None) -> list[Fault]:
        """Switch faults off (latched cell alarms stay until Reset); returns them."""
        self._catch_up()
        return self.plant.clear(kind)


def _convert(
    name: str, wire_type: str, array: bool, variant: ua.Variant
) -> tuple[object, tuple[int, str] | None]:
    """A LoadJob argument as a Python value (arrays as tuples), or (status, message)."""
    if not array:
        return base.convert(name, wire_type, variant)
    value = variant.Value
    mismatch = (StatusCodes.BadTypeMismatch, f"{name} must be a {wire_type}[] array")
    if value is None:
        return (), None if variant.VariantType in base.NUMBER_VARIANTS else mismatch
    if not isinstance(value, list | tuple) or variant.VariantType not in base.NUMBER_VARIANTS:
        return (), mismatch
    return tuple(float(v) for v in value), None  # argument_errors checks each element


def _rejected(method: str, exc: CommandRejectedError) -> ua.StatusCode:
    if isinstance(exc, InvalidArgumentError):
        return base.refused(method, StatusCodes.BadInvalidArgument, str(exc))
    return base.refused(method, StatusCodes.BadInvalidState, str(exc))
