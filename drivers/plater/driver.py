"""Plating tool driver: the `Plater` capability over the OPC UA node model in `nodes`.

The node ids, methods and limits are data (nodes.py); this module only says
what each capability means on that wire. Every node is named by namespace URI
(`nsu=...;s=Plater...`), so the transport resolves the index per session.
Commands go to the cell's object ("Plater.Cell<k>"), whose methods are named
"Plater.Cell<k>.<Method>".
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers.core.plater import PlaterSnapshot, PlatingStep
from drivers.opcua.transport import OpcUaTransport
from drivers.plater import nodes
from drivers.plater.codec import (
    LOAD_JOB_ARGS,
    InvalidCell,
    InvalidJob,
    decode_snapshot,
    job_problems,
    load_job_arguments,
    snapshot_nodes,
)


def node_id(ident: str) -> str:
    """The transport's node id for an identifier of the plating-tool namespace."""
    return f"nsu={nodes.NAMESPACE_URI};s={ident}"


def cell_object(cell: int) -> str:
    return node_id(nodes.cell_object(cell))


def cell_method(cell: int, method: str) -> str:
    return node_id(nodes.cell_node(cell, method))


def read_nodes(cells: int = nodes.CELLS) -> tuple[str, ...]:
    """Every bath and cell node, in the order `decode_snapshot` expects."""
    return tuple(node_id(ident) for ident, _ in snapshot_nodes(cells))


class OpcUaPlater:
    """A Cu plating tool reached over OPC UA (see drivers/plater/nodes.py)."""

    def __init__(
        self, tool_id: str, transport: OpcUaTransport, *, cells: int = nodes.CELLS
    ) -> None:
        if isinstance(cells, bool) or not isinstance(cells, int) or cells < 1:
            raise ValueError(f"{tool_id}: cells must be a positive integer, got {cells!r}")
        self._tool_id = tool_id
        self._cells = cells
        self.transport = transport
        self._read_nodes = read_nodes(cells)

    @property
    def tool_id(self) -> str:
        return self._tool_id

    @property
    def cells(self) -> int:
        return self._cells

    async def connect(self) -> None:
        await self.transport.connect()

    async def close(self) -> None:
        await self.transport.close()

    def _check_cell(self, cell: int) -> None:
        if isinstance(cell, bool) or not isinstance(cell, int) or not 1 <= cell <= self._cells:
            raise InvalidCell(
                f"{self._tool_id}: cell must be 1..{self._cells}, got {cell!r}; nothing sent"
            )

    async def load(
        self, cell: int, wafer_id: str, run_id: int, steps: Sequence[PlatingStep], ramp_s: float
    ) -> None:
        """Check the job against the documented limits, then the cell's LoadJob."""
        self._check_cell(cell)
        problems = job_problems(wafer_id, run_id, steps, ramp_s)
        if problems:
            raise InvalidJob(
                f"{self._tool_id}: job for wafer {wafer_id!r} on cell {cell} not sent: "
                + "; ".join(problems)
            )
        await self.transport.call(
            cell_object(cell),
            cell_method(cell, nodes.METHOD_LOAD_JOB),
            *load_job_arguments(wafer_id, run_id, steps, ramp_s),
            arg_names=[name for name, _ in LOAD_JOB_ARGS],
        )

    async def _command(self, cell: int, method: str) -> None:
        self._check_cell(cell)
        await self.transport.call(cell_object(cell), cell_method(cell, method))

    async def start(self, cell: int) -> None:
        await self._command(cell, nodes.METHOD_START)

    async def abort(self, cell: int) -> None:
        await self._command(cell, nodes.METHOD_ABORT)

    async def reset(self, cell: int) -> None:
        await self._command(cell, nodes.METHOD_RESET)

    async def read(self) -> PlaterSnapshot:
        """Bath and every cell in one Read request."""
        values = await self.transport.read_many(self._read_nodes)
        return decode_snapshot(values, self._cells, self._tool_id)
