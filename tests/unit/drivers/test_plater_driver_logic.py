"""The OPC UA plating driver over a fake transport: what goes on the wire, what comes back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from drivers.core.errors import GarbledResponse
from drivers.core.plater import CellState, Plater, PlatingStep
from drivers.opcua import Typed
from drivers.plater import nodes
from drivers.plater.codec import InvalidCell, InvalidJob
from drivers.plater.driver import OpcUaPlater, cell_method, cell_object, node_id, read_nodes
from tests.unit.drivers.test_plater_codec import image

NS = f"nsu={nodes.NAMESPACE_URI};s="
STEPS = [PlatingStep(10.0, 60.0), PlatingStep(25.0, 300.0)]


class FakeTransport:
    def __init__(self, values: list[Any] | None = None) -> None:
        self.calls: list[tuple[str, str, tuple[Any, ...], Sequence[str]]] = []
        self.reads: list[Sequence[str]] = []
        self.values: list[Any] = values if values is not None else image()

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def call(
        self, obj: str, method: str, *args: Any, arg_names: Sequence[str] = ()
    ) -> list[Any]:
        self.calls.append((obj, method, args, arg_names))
        return []

    async def read_many(self, node_ids: Sequence[str]) -> list[Any]:
        self.reads.append(node_ids)
        return list(self.values)


def make(cells: int = nodes.CELLS) -> tuple[OpcUaPlater, FakeTransport]:
    fake = FakeTransport(image(cells=cells))
    return OpcUaPlater("PLATER-01", fake, cells=cells), fake  # type: ignore[arg-type]


class TestOpcUaPlater:
    def test_is_a_plater(self) -> None:
        plater, _ = make()
        assert isinstance(plater, Plater)
        assert plater.tool_id == "PLATER-01"
        assert plater.cells == 2

    def test_node_ids_name_the_namespace(self) -> None:
        assert node_id("Plater.Bath.Temperature") == f"{NS}Plater.Bath.Temperature"
        assert cell_object(2) == f"{NS}Plater.Cell2"
        assert cell_method(2, nodes.METHOD_START) == f"{NS}Plater.Cell2.Start"

    async def test_load_calls_the_cells_load_job_with_typed_arguments(self) -> None:
        plater, fake = make()
        await plater.load(2, "W-0001", 4242, STEPS, 5.0)
        [(obj, method, args, names)] = fake.calls
        assert (obj, method) == (f"{NS}Plater.Cell2", f"{NS}Plater.Cell2.LoadJob")
        assert args == (
            Typed("W-0001", "String"),
            Typed(4242, "UInt32"),
            Typed([10.0, 25.0], "Double"),
            Typed([60.0, 300.0], "Double"),
            Typed(5.0, "Double"),
        )
        assert list(names) == ["WaferId", "RunId", "Currents", "Durations", "RampS"]

    async def test_invalid_job_sends_nothing(self) -> None:
        """A job outside the limits raises InvalidJob naming every problem; no call is made."""
        plater, fake = make()
        bad = [PlatingStep(250.0, 60.0)]
        with pytest.raises(InvalidJob) as info:
            await plater.load(1, "W-1", 1, bad, 500.0)
        text = str(info.value)
        assert text.startswith("PLATER-01: job for wafer 'W-1' on cell 1 not sent: ")
        assert "steps[0].current_a (Currents[0]) = 250 A outside 0..200 A" in text
        assert "ramp_s (RampS) = 500 s outside 0..120 s" in text
        assert fake.calls == []

    @pytest.mark.parametrize("cell", [0, 3, -1, True, "1"])
    async def test_unknown_cell_sends_nothing(self, cell: Any) -> None:
        plater, fake = make()
        with pytest.raises(InvalidCell, match=r"PLATER-01: cell must be 1\.\.2"):
            await plater.load(cell, "W-1", 1, STEPS, 0.0)
        for command in (plater.start, plater.abort, plater.reset):
            with pytest.raises(InvalidCell):
                await command(cell)
        assert fake.calls == []

    async def test_commands_go_to_the_cell_object(self) -> None:
        plater, fake = make()
        await plater.start(1)
        await plater.abort(2)
        await plater.reset(1)
        assert [(o, m, a) for o, m, a, _ in fake.calls] == [
            (f"{NS}Plater.Cell1", f"{NS}Plater.Cell1.Start", ()),
            (f"{NS}Plater.Cell2", f"{NS}Plater.Cell2.Abort", ()),
            (f"{NS}Plater.Cell1", f"{NS}Plater.Cell1.Reset", ()),
        ]

    async def test_read_is_one_batched_read_of_bath_and_cells(self) -> None:
        plater, fake = make()
        snap = await plater.read()
        assert len(fake.reads) == 1
        [ids] = fake.reads
        assert tuple(ids) == read_nodes(2)
        assert ids[0] == f"{NS}Plater.Bath.Temperature"
        assert ids[-1] == f"{NS}Plater.Cell2.AlarmBits"
        assert len(ids) == len(nodes.BATH_VARS) + 2 * len(nodes.CELL_VARS)
        assert [c.state for c in snap.cells] == [CellState.PLATING, CellState.PLATING]

    async def test_read_follows_the_cell_count(self) -> None:
        plater, fake = make(cells=3)
        snap = await plater.read()
        assert len(fake.reads[0]) == len(nodes.BATH_VARS) + 3 * len(nodes.CELL_VARS)
        assert len(snap.cells) == 3

    async def test_garbled_read_names_tool_and_node(self) -> None:
        plater, fake = make()
        fake.values = image(**{"Plater.Cell2.State": 9})
        with pytest.raises(GarbledResponse, match=r"^PLATER-01: Plater\.Cell2\.State = 9"):
            await plater.read()

    def test_cells_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="cells must be a positive integer"):
            OpcUaPlater("P", FakeTransport(), cells=0)  # type: ignore[arg-type]
