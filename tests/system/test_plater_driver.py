"""The OPC UA plating driver against the real plating-tool simulator on 127.0.0.1.

Secured as a line runs it: Basic256Sha256 Sign&Encrypt, user and password,
the simulator's certificate pinned. Leaked asyncio tasks fail a test through
the autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest

from drivers.core.errors import ToolRejected
from drivers.core.plater import (
    CellSnapshot,
    CellState,
    Plater,
    PlaterAlarm,
    PlaterSnapshot,
    PlatingStep,
)
from drivers.opcua import OpcUaTransport, SecurityConfig, ensure_client_certificate
from drivers.plater.codec import InvalidJob
from drivers.plater.driver import OpcUaPlater
from simulators.plater.server import PlaterSimulator

pytestmark = pytest.mark.system

SPEED = 200.0  # a 2 × 60 s job in well under a second of wall time
USER, PASSWORD = "mes", "plater-pw"
STEPS = (PlatingStep(10.0, 60.0), PlatingStep(20.0, 60.0))
RAMP_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(simulator cert dir, client cert dir), made once: key generation is the slow part."""
    root = tmp_path_factory.mktemp("plater-pki")
    ensure_client_certificate(root / "client")
    return root / "server", root / "client"


async def start_sim(
    server_dir: Path, faults: Sequence[str] = (), cells: int = 2
) -> PlaterSimulator:
    simulator = PlaterSimulator(
        "127.0.0.1",
        free_port(),
        speed=SPEED,
        cert_dir=server_dir,
        users={USER: PASSWORD},
        faults=tuple(faults),
        seed=1,
        cells=cells,
    )
    await simulator.start()
    return simulator


@pytest.fixture
async def sim(pki: tuple[Path, Path]) -> AsyncIterator[PlaterSimulator]:
    simulator = await start_sim(pki[0])
    yield simulator
    await simulator.stop()


def make_plater(sim: PlaterSimulator, client_dir: Path, cells: int = 2) -> OpcUaPlater:
    assert sim.server_cert_path is not None
    security = SecurityConfig.with_client_dir(client_dir, sim.server_cert_path, USER, PASSWORD)
    transport = OpcUaTransport(
        sim.endpoint,
        security=security,
        name="PLATER-01",
        backoff_initial_s=0.05,
        backoff_max_s=0.3,
    )
    return OpcUaPlater("PLATER-01", transport, cells=cells)


@pytest.fixture
async def plater(sim: PlaterSimulator, pki: tuple[Path, Path]) -> AsyncIterator[OpcUaPlater]:
    driver = make_plater(sim, pki[1])
    await driver.connect()
    yield driver
    await driver.close()


async def poll_until(
    plater: OpcUaPlater,
    done: Callable[[PlaterSnapshot], bool],
    timeout_s: float = 30.0,
    what: str = "condition",
) -> list[PlaterSnapshot]:
    """read() every 10 ms until `done`; every snapshot seen, the last one satisfying it."""
    seen: list[PlaterSnapshot] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        snap = await plater.read()
        seen.append(snap)
        if done(snap):
            return seen
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}; last: {snap}")
        await asyncio.sleep(0.01)


def cell1(snap: PlaterSnapshot) -> CellSnapshot:
    return snap.cells[0]


def ended(snap: PlaterSnapshot) -> bool:
    return cell1(snap).state in (CellState.DONE, CellState.FAULT, CellState.ABORTED)


class TestOpcUaPlater:
    async def test_is_a_plater(self, plater: OpcUaPlater) -> None:
        assert isinstance(plater, Plater)

    async def test_idle_tool_reads_in_one_batch(self, plater: OpcUaPlater) -> None:
        snap = await plater.read()
        assert [c.cell for c in snap.cells] == [1, 2]
        assert all(c.state is CellState.IDLE for c in snap.cells)
        assert snap.bath_alarm_bits == 0
        assert snap.bath_temp_c > 0

    async def test_two_step_job_runs_to_done(self, plater: OpcUaPlater) -> None:
        """Load a 2-step job on cell 1, start, poll until done: the current followed the
        set-point while plating, and the other cell stayed idle."""
        await plater.load(1, "W-0001", 4242, STEPS, RAMP_S)
        loaded = cell1(await plater.read())
        assert loaded.state is CellState.LOADED
        assert (loaded.wafer_id, loaded.run_id) == ("W-0001", 4242)

        await plater.start(1)
        seen = await poll_until(
            plater, lambda s: cell1(s).state is CellState.DONE, what="cell 1 done"
        )
        last = cell1(seen[-1])
        assert last.run_id == 4242
        assert last.alarm_bits == 0
        assert seen[-1].cells[1].state is CellState.IDLE

        plating = [cell1(s) for s in seen if cell1(s).state is CellState.PLATING]
        assert plating, "never saw the cell plating"
        assert {c.step for c in plating} <= {0, 1}
        assert 1 in {c.step for c in plating}
        # At a settled set-point the measured current is near it (rectifier noise only).
        settled = [
            c
            for c in plating
            if c.step >= 0 and c.current_setpoint_a == pytest.approx(STEPS[c.step].current_a)
        ]
        assert settled, "never saw a settled set-point"
        for c in settled:
            assert c.current_a == pytest.approx(c.current_setpoint_a, rel=0.1, abs=1.0), c
        times = [c.job_time_s for c in plating]
        assert times == sorted(times)  # the cell's own clock never runs back

        await plater.reset(1)
        assert cell1(await plater.read()).state is CellState.IDLE

    async def test_bad_job_refused_before_sending(
        self, plater: OpcUaPlater, sim: PlaterSimulator
    ) -> None:
        """A job outside the limits is refused locally, naming field and limit; nothing changes."""
        bad = [PlatingStep(250.0, 60.0), PlatingStep(10.0, 0.5)]
        with pytest.raises(InvalidJob) as info:
            await plater.load(1, "W-BAD", 7, bad, RAMP_S)
        text = str(info.value)
        assert "steps[0].current_a (Currents[0]) = 250 A outside 0..200 A" in text
        assert "steps[1].duration_s (Durations[1]) = 0.5 s outside 1..7200 s" in text
        snap = cell1(await plater.read())
        assert snap.state is CellState.IDLE
        assert snap.wafer_id != "W-BAD"
        assert snap.run_id != 7

    async def test_tool_refuses_commands_in_the_wrong_state(self, plater: OpcUaPlater) -> None:
        """The tool's own refusals arrive as ToolRejected naming the cell's method."""
        with pytest.raises(ToolRejected, match=r"Plater\.Cell1\.Start refused: BadInvalidState"):
            await plater.start(1)
        await plater.load(1, "W-0003", 5, STEPS, RAMP_S)
        await plater.start(1)
        with pytest.raises(ToolRejected, match=r"Plater\.Cell1\.LoadJob refused"):
            await plater.load(1, "W-0004", 6, STEPS, RAMP_S)
        await plater.abort(1)
        assert cell1(await plater.read()).state is CellState.ABORTED
        await plater.reset(1)
        assert cell1(await plater.read()).state is CellState.IDLE


async def test_contact_fault_raises_alarm_and_current_collapses(pki: tuple[Path, Path]) -> None:
    """A contact failure on cell 1 (30 s into the job) shows in its alarm bits and the
    measured current collapses from the set-point it was following."""
    sim = await start_sim(pki[0], faults=["contact:cell=1,at=30"])
    try:
        plater = make_plater(sim, pki[1])
        await plater.connect()
        try:
            await plater.load(1, "W-0002", 77, STEPS, RAMP_S)
            await plater.start(1)
            seen = await poll_until(
                plater,
                lambda s: bool(cell1(s).alarm_bits & PlaterAlarm.CONTACT) or ended(s),
                what="a contact alarm on cell 1",
            )
            before = [cell1(s) for s in seen[:-1] if cell1(s).state is CellState.PLATING]
            assert any(c.current_a > 0.8 * STEPS[0].current_a for c in before), before
            faulted = cell1(seen[-1])
            assert faulted.alarm_bits & PlaterAlarm.CONTACT, faulted
            assert faulted.state is CellState.PLATING  # contact loss does not stop the cell
            collapsed = STEPS[0].current_a * 0.2
            after = await poll_until(
                plater,
                lambda s: cell1(s).current_a < collapsed or ended(s),
                what="the current to collapse",
            )
            last = cell1(after[-1])
            assert last.alarm_bits & PlaterAlarm.CONTACT
            assert last.current_a < collapsed, last
            assert last.current_setpoint_a > collapsed  # the rectifier still asks for it
            assert after[-1].cells[1].alarm_bits == 0  # cell 2 is unaffected
        finally:
            await plater.close()
    finally:
        await sim.stop()


async def test_a_three_cell_tool_runs_a_job_on_its_third_cell(pki: tuple[Path, Path]) -> None:
    """cells = 3 (the line config's): every cell is read, cell 3 plates, 1 and 2 stay idle."""
    sim = await start_sim(pki[0], cells=3)
    driver = make_plater(sim, pki[1], cells=3)
    try:
        await driver.connect()
        assert [c.cell for c in (await driver.read()).cells] == [1, 2, 3]
        await driver.load(3, "W-0003", 4343, STEPS, RAMP_S)
        await driver.start(3)
        seen = await poll_until(
            driver, lambda s: s.cells[2].state is CellState.DONE, what="cell 3 done"
        )
        assert any(s.cells[2].state is CellState.PLATING for s in seen)
        assert seen[-1].cells[2].run_id == 4343
        assert all(c.state is CellState.IDLE for s in seen for c in s.cells[:2])
    finally:
        await driver.close()
        await sim.stop()
