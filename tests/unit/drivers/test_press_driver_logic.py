"""The OPC UA press driver over a fake transport: what goes on the wire, what comes back."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import pytest

from drivers.core.press import JobStatus, MoldingPress, PressJob
from drivers.molding_press import nodes
from drivers.molding_press.codec import InvalidJob
from drivers.molding_press.driver import PRESS, PROCESS_NODES, OpcUaPress, node_id
from drivers.opcua import Typed
from tests.unit.drivers.fakes import image


class FakeSubscription:
    def __init__(self, batches: list[list[tuple[str, Any]]]) -> None:
        self.batches = batches
        self.resubscriptions = 0
        self.closed = False
        self.resubscribe_before: int | None = None

    async def next_batch(self) -> list[tuple[str, Any]]:
        if not self.batches:
            raise AssertionError("stream read past the scripted batches")
        if self.resubscribe_before is not None and len(self.batches) == self.resubscribe_before:
            self.resubscriptions += 1
        return self.batches.pop(0)

    async def close(self) -> None:
        self.closed = True


class FakeTransport:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[Any, ...], Sequence[str]]] = []
        self.reads: list[Sequence[str]] = []
        self.values: list[Any] = image()
        self.subscription = FakeSubscription([])

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

    async def subscribe(self, node_ids: Sequence[str], period_ms: float) -> FakeSubscription:
        assert tuple(node_ids) == PROCESS_NODES
        return self.subscription


def make() -> tuple[OpcUaPress, FakeTransport]:
    fake = FakeTransport()
    return OpcUaPress("PRESS-01", fake, period_ms=100), fake  # type: ignore[arg-type]


JOB = PressJob("muf-175", 9, 175.0, 800.0, 8.0, 10.0, 90.0, 2)


class TestOpcUaPress:
    def test_is_a_molding_press(self) -> None:
        press, _ = make()
        assert isinstance(press, MoldingPress)

    def test_node_ids_name_the_namespace(self) -> None:
        """Nodes are named by namespace URI, resolved by the transport per session."""
        assert node_id(nodes.JOB_STATUS) == f"nsu={nodes.NAMESPACE_URI};s=Press.Status.JobStatus"
        assert f"nsu={nodes.NAMESPACE_URI};s=Press" == PRESS

    async def test_load_job_calls_load_job_with_typed_arguments(self) -> None:
        press, fake = make()
        await press.load_job(JOB)
        [(obj, method, args, names)] = fake.calls
        assert (obj, method) == (PRESS, node_id(nodes.METHOD_LOAD_JOB))
        assert args[1] == Typed(9, "UInt32")
        assert args[-1] == Typed(2, "Int32")
        assert list(names)[:2] == ["Name", "RunId"]

    async def test_invalid_job_sends_nothing(self) -> None:
        """A job outside the limits raises InvalidJob naming the field and sends no call."""
        press, fake = make()
        bad = PressJob("muf", 9, 175.0, 800.0, 8.0, 10.0, 90.0, 40)
        with pytest.raises(InvalidJob, match=r"PRESS-01: job 'muf' not sent: cycles \(Cycles\)"):
            await press.load_job(bad)
        assert fake.calls == []

    async def test_commands(self) -> None:
        press, fake = make()
        await press.start()
        await press.abort()
        await press.reset()
        methods = [m for _, m, _, _ in fake.calls]
        assert methods == [
            node_id(nodes.METHOD_START),
            node_id(nodes.METHOD_ABORT),
            node_id(nodes.METHOD_RESET),
        ]

    async def test_read_is_one_batched_read(self) -> None:
        press, fake = make()
        snap = await press.read()
        assert fake.reads == [PROCESS_NODES]
        assert snap.job_status is JobStatus.IN_PRODUCTION

    async def test_stream_waits_for_all_values_then_one_snapshot_per_batch(self) -> None:
        """No snapshot until every variable is known; then one per publish batch."""
        press, fake = make()
        values = dict(zip(PROCESS_NODES, image(), strict=True))
        first = list(values.items())[:5]
        rest = list(values.items())[5:]
        job_time = node_id(nodes.JOB_TIME)
        fake.subscription.batches = [first, rest, [(job_time, 111.0)], [(job_time, 112.0)]]
        async with contextlib.aclosing(press.stream()) as snaps:
            got = [await anext(snaps) for _ in range(3)]
        assert [s.job_time_s for s in got] == [110.5, 111.0, 112.0]
        assert fake.subscription.closed

    async def test_stream_forgets_values_from_before_a_resubscription(self) -> None:
        """After a reconnect a snapshot is built only from the new session's values."""
        press, fake = make()
        values = list(zip(PROCESS_NODES, image(), strict=True))
        job_time = node_id(nodes.JOB_TIME)
        fake.subscription.batches = [values, [(job_time, 200.0)], values]
        fake.subscription.resubscribe_before = 2  # the second batch comes from a new session
        async with contextlib.aclosing(press.stream()) as snaps:
            first = await anext(snaps)
            second = await anext(snaps)
        assert first.job_time_s == 110.5
        # The lone JobTime after the gap did not make a snapshot with stale values.
        assert second.job_time_s == 110.5
