"""The OPC UA press driver against the real press simulator on 127.0.0.1.

Secured as a line runs it: Basic256Sha256 Sign&Encrypt, user and password,
the simulator's certificate pinned. Leaked asyncio tasks fail a test through
the autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from drivers.core.errors import ToolRejected
from drivers.core.press import (
    CycleState,
    JobStatus,
    MoldingPress,
    PressAlarm,
    PressJob,
    PressSnapshot,
)
from drivers.molding_press.codec import InvalidJob
from drivers.molding_press.driver import OpcUaPress, PressAlarmEvent
from drivers.opcua import ConnectionGap, OpcUaTransport, SecurityConfig, ensure_client_certificate
from simulators.press.server import PressSimulator

pytestmark = pytest.mark.system

SPEED = 200.0  # a 2-cycle job (2 × 80 s) in under a second
USER, PASSWORD = "mes", "press-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def job(cycles: int = 2, **overrides: object) -> PressJob:
    fields: dict[str, object] = {
        "name": "muf-175",
        "run_id": 4242,
        "mold_temp_c": 175.0,
        "clamp_force_kn": 800.0,
        "transfer_pressure_mpa": 8.0,
        "fill_time_s": 10.0,
        "cure_time_s": 60.0,
        "cycles": cycles,
    }
    fields.update(overrides)
    return PressJob(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(simulator cert dir, client cert dir), made once: key generation is the slow part."""
    root = tmp_path_factory.mktemp("press-pki")
    ensure_client_certificate(root / "client")
    return root / "server", root / "client"


@pytest.fixture
async def sim(pki: tuple[Path, Path]) -> AsyncIterator[PressSimulator]:
    server_dir, _ = pki
    simulator = PressSimulator(
        "127.0.0.1", free_port(), speed=SPEED, cert_dir=server_dir, users={USER: PASSWORD}
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


def make_press(sim: PressSimulator, client_dir: Path, password: str = PASSWORD) -> OpcUaPress:
    assert sim.server_cert_path is not None
    security = SecurityConfig.with_client_dir(client_dir, sim.server_cert_path, USER, password)
    transport = OpcUaTransport(
        sim.endpoint,
        security=security,
        name="PRESS-01",
        backoff_initial_s=0.05,
        backoff_max_s=0.3,
    )
    return OpcUaPress("PRESS-01", transport, period_ms=50)


@pytest.fixture
async def press(sim: PressSimulator, pki: tuple[Path, Path]) -> AsyncIterator[OpcUaPress]:
    driver = make_press(sim, pki[1])
    await driver.connect()
    yield driver
    await driver.close()


async def stream_until(
    press: OpcUaPress, done: Callable[[PressSnapshot], bool], timeout_s: float = 30.0
) -> list[PressSnapshot]:
    seen: list[PressSnapshot] = []

    async def consume() -> None:
        async with contextlib.aclosing(press.stream()) as snapshots:
            async for snap in snapshots:
                seen.append(snap)
                if done(snap):
                    return

    await asyncio.wait_for(consume(), timeout_s)
    return seen


def finished(snap: PressSnapshot) -> bool:
    return snap.job_status in (JobStatus.FINISHED, JobStatus.INTERRUPTED)


class TestOpcUaPress:
    async def test_is_a_molding_press(self, press: OpcUaPress) -> None:
        """The driver satisfies the engine's MoldingPress protocol."""
        assert isinstance(press, MoldingPress)

    async def test_read_is_the_simulators_state(
        self, press: OpcUaPress, sim: PressSimulator
    ) -> None:
        """One batched read decodes into the snapshot the simulator serves."""
        snap = await press.read()
        truth = sim.readings()
        assert snap.job_status is JobStatus.NO_JOB
        assert snap.cycle_state is CycleState.IDLE
        assert snap.run_id == 0
        assert snap.platen_top_c == pytest.approx(truth.platen_top_c, abs=2.0)

    async def test_two_cycle_job_runs_to_finished(self, press: OpcUaPress) -> None:
        """Load a 2-cycle job, start, stream until finished: the counters and run id add up."""
        await press.load_job(job(cycles=2))
        loaded = await press.read()
        assert loaded.job_status is JobStatus.SET_UP
        assert loaded.run_id == 4242
        job_params = await press.read_job()
        assert job_params["Press.Job.Cycles"] == 2
        assert job_params["Press.Job.Name"] == "muf-175"

        await press.start()
        seen = await stream_until(press, finished)
        last = seen[-1]
        assert last.job_status is JobStatus.FINISHED
        assert (last.cycles, last.good_cycles, last.bad_cycles) == (2, 2, 0)
        assert last.run_id == 4242
        assert last.alarm_bits == 0
        states = {s.cycle_state for s in seen}
        assert {CycleState.FILL, CycleState.CURE} <= states
        job_times = [s.job_time_s for s in seen]
        assert job_times == sorted(job_times)  # the press's own clock never runs back
        assert last.last_cycle_time_s == pytest.approx(80.0, abs=1.0)

    async def test_bad_job_refused_before_sending(
        self, press: OpcUaPress, sim: PressSimulator
    ) -> None:
        """A job outside the limits is refused locally, naming field and limit; nothing changes."""
        with pytest.raises(InvalidJob) as info:
            await press.load_job(job(mold_temp_c=250.0, cycles=0))
        text = str(info.value)
        assert "mold_temp_c (MoldTemperature) = 250 °C outside 20..200 °C" in text
        assert "cycles (Cycles) = 0 outside 1..25" in text
        assert (await press.read()).job_status is JobStatus.NO_JOB
        assert sim.plant.job is None

    async def test_press_refuses_commands_in_the_wrong_state(self, press: OpcUaPress) -> None:
        """The press's own refusals arrive as ToolRejected naming method and status."""
        with pytest.raises(ToolRejected, match=r"Press\.Start refused: BadInvalidState"):
            await press.start()
        await press.load_job(job(cycles=3))
        await press.start()
        with pytest.raises(ToolRejected, match=r"Press\.LoadJob refused: BadInvalidState"):
            await press.load_job(job())
        await press.abort()
        snap = await press.read()
        assert snap.job_status is JobStatus.INTERRUPTED
        await press.reset()
        assert (await press.read()).job_status is JobStatus.NO_JOB

    async def test_short_fill_alarm(self, press: OpcUaPress, sim: PressSimulator) -> None:
        """A short fill in cycle 1 shows in the alarm bits, the bad count and as an event."""
        sim.inject("short_fill:cycle=1")
        events: list[PressAlarmEvent] = []

        async def watch() -> None:
            async with contextlib.aclosing(press.alarm_events()) as alarms:
                async for event in alarms:
                    events.append(event)

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.2)  # let the event subscription be created
        await press.load_job(job(cycles=2))
        await press.start()
        seen = await stream_until(press, finished)
        last = seen[-1]
        assert last.alarm_bits & PressAlarm.SHORT_FILL
        assert last.bad_cycles == 1
        assert last.good_cycles == 1
        await _until(lambda: bool(events), 5)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        assert events[0].alarm is PressAlarm.SHORT_FILL
        assert events[0].active
        assert events[0].message.startswith("short fill")

    async def test_wrong_password_is_refused(
        self, sim: PressSimulator, pki: tuple[Path, Path]
    ) -> None:
        """The simulator refuses a wrong password; the driver reports it, not 'unavailable'."""
        from drivers.opcua import AuthenticationFailed

        driver = make_press(sim, pki[1], password="nope")
        try:
            with pytest.raises(AuthenticationFailed, match="refused user 'mes'"):
                await driver.connect()
        finally:
            await driver.close()

    async def test_stream_survives_simulator_restart(
        self, press: OpcUaPress, sim: PressSimulator
    ) -> None:
        """The press's OPC UA server restarts mid-job: the stream reconnects, resubscribes
        and follows the job to its end; the gap is counted and reported."""
        gaps: list[ConnectionGap] = []
        press.transport.add_reconnect_listener(gaps.append)
        await press.load_job(job(cycles=3))
        await press.start()
        seen: list[PressSnapshot] = []
        restarted = False

        async def consume() -> None:
            nonlocal restarted
            async with contextlib.aclosing(press.stream()) as snapshots:
                async for snap in snapshots:
                    seen.append(snap)
                    if not restarted and snap.cycle_state is CycleState.CURE:
                        restarted = True
                        await _restart(sim)
                    if finished(snap):
                        return

        await asyncio.wait_for(consume(), 60)
        assert restarted
        last = seen[-1]
        assert last.job_status is JobStatus.FINISHED
        assert last.cycles == 3
        assert press.transport.reconnects == 1
        assert len(gaps) == 1
        assert gaps[0].transport == "PRESS-01"


async def _until(cond: Callable[[], bool], timeout_s: float) -> None:
    """Poll `cond` (state another task fills) until true; fail on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        if loop.time() > deadline:
            pytest.fail("timed out waiting for an alarm event")
        await asyncio.sleep(0.02)


async def _restart(sim: PressSimulator) -> None:
    """Stop and start the simulator's OPC UA server on the same port (the plant keeps its job)."""
    await sim.stop()
    await sim.start()
