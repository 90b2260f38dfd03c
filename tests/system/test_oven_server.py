"""The cure-oven simulator over real Modbus TCP on 127.0.0.1, read by three kinds of client.

Leaked asyncio tasks fail a test through the autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import shutil
import signal
import socket
import struct
from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient
from structlog.testing import capture_logs

from drivers.cure_oven import registers as reg
from simulators.errors import SimConfigError
from simulators.oven import cli
from simulators.oven.server import OvenSimulator

pytestmark = pytest.mark.system

UNIT = reg.UNIT_ID
RAMP, SOAK = 0, 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def f32(value: float) -> list[int]:
    return list(struct.unpack(">HH", struct.pack(">f", value)))


def as_f32(words: list[int], at: int) -> float:
    value: float = struct.unpack(">f", struct.pack(">HH", words[at], words[at + 1]))[0]
    return value


def segment(kind: int, target: float, rate: float = 0.0, duration: float = 0.0) -> list[int]:
    return [kind, 0, *f32(target), *f32(rate), *f32(duration)]


@pytest.fixture
async def sim() -> AsyncIterator[OvenSimulator]:
    async with OvenSimulator("127.0.0.1", free_port(), speed=600, seed=0) as oven:
        yield oven


@pytest.fixture
async def client(sim: OvenSimulator) -> AsyncIterator[AsyncModbusTcpClient]:
    c = AsyncModbusTcpClient("127.0.0.1", port=sim.port, timeout=2, retries=0)
    assert await asyncio.wait_for(c.connect(), timeout=5)
    yield c
    c.close()


async def read_inputs(client: AsyncModbusTcpClient) -> list[int]:
    rr = await client.read_input_registers(reg.INPUT_BASE, count=reg.INPUT_COUNT, device_id=UNIT)
    assert not rr.isError(), rr
    return list(rr.registers)


async def download(client: AsyncModbusTcpClient, *segments: list[int], run_id: int = 0) -> None:
    header = [len(segments), run_id >> 16, run_id & 0xFFFF]
    rr = await client.write_registers(reg.SEGMENT_COUNT.address, header, device_id=UNIT)
    assert not rr.isError(), rr
    table = [w for s in segments for w in s]
    rr = await client.write_registers(reg.SEGMENT_BASE, table, device_id=UNIT)
    assert not rr.isError(), rr


async def command(client: AsyncModbusTcpClient, cmd: int) -> int:
    """Write the command register; returns the Modbus exception code (0: accepted)."""
    rr = await client.write_register(reg.COMMAND.address, cmd, device_id=UNIT)
    return int(rr.exception_code) if rr.isError() else 0


class TestPymodbusClient:
    async def test_idle_oven_reads_its_documented_process_image(
        self, client: AsyncModbusTcpClient
    ) -> None:
        """A cold idle oven: state 0, segment -1, 4 zones near 25 °C, heaters 0 %, O2 a few
        ppm under 50 L/min of N2, no alarms; holding registers show the N2 setpoint."""
        w = await read_inputs(client)
        assert w[reg.PROGRAM_STATE.address] == 0
        assert w[reg.SEGMENT_INDEX.address] == 0xFFFF  # int16 -1
        assert w[reg.ZONE_COUNT.address] == 4
        assert w[reg.ALARM_BITS.address] == 0
        zones = [as_f32(w, reg.zone_temp_address(z)) for z in range(1, 5)]
        assert all(24.5 < t < 25.5 for t in zones)
        assert w[reg.HEATER_OUTPUT_BASE : reg.HEATER_OUTPUT_BASE + 4] == [0, 0, 0, 0]
        assert 0 < as_f32(w, reg.O2_PPM.address) < 10
        assert as_f32(w, reg.N2_FLOW.address) == pytest.approx(50.0, rel=0.01)
        hr = await client.read_holding_registers(reg.HOLDING_BASE, count=6, device_id=UNIT)
        assert hr.registers[0] == 0
        assert as_f32(hr.registers, reg.N2_SETPOINT.address - reg.HOLDING_BASE) == 50.0

    async def test_heartbeat_counts_controller_scans(self, client: AsyncModbusTcpClient) -> None:
        """The heartbeat register changes between two reads 50 ms apart."""
        first = (await read_inputs(client))[reg.HEARTBEAT.address]
        await asyncio.sleep(0.05)
        assert (await read_inputs(client))[reg.HEARTBEAT.address] != first

    async def test_downloaded_program_runs_to_complete(self, client: AsyncModbusTcpClient) -> None:
        """Ramp 25→60 °C at 20 °C/min then soak 120 s: running with the segment index and a
        rising setpoint, then complete at program time ≈ 225 s; the run id reads back."""
        await download(client, segment(RAMP, 60, rate=20), segment(SOAK, 60, duration=120),
                       run_id=70001)  # fmt: skip
        assert await command(client, reg.CMD_START) == 0
        seen_segments = set()
        for _ in range(200):
            w = await read_inputs(client)
            if w[reg.PROGRAM_STATE.address] != 1:
                break
            seen_segments.add(w[reg.SEGMENT_INDEX.address])
            assert 24 < as_f32(w, reg.SETPOINT.address) <= 60
            await asyncio.sleep(0.02)
        assert w[reg.PROGRAM_STATE.address] == 2
        assert seen_segments <= {0, 1}
        assert 0 in seen_segments
        assert as_f32(w, reg.PROGRAM_TIME.address) == pytest.approx(225, abs=2)
        assert all(50 < as_f32(w, reg.zone_temp_address(z)) < 62 for z in range(1, 5))
        hr = await client.read_holding_registers(reg.RUN_ID.address, count=2, device_id=UNIT)
        assert (hr.registers[0] << 16) | hr.registers[1] == 70001

    async def test_out_of_range_write_is_refused_with_0x03(
        self, client: AsyncModbusTcpClient
    ) -> None:
        """A target of 500 °C (range 0..450) gets exception 0x03 and the table is unchanged;
        so do command 4 and a start with no program."""
        await download(client, segment(RAMP, 100, rate=3))
        before = await client.read_holding_registers(reg.SEGMENT_BASE, count=8, device_id=UNIT)
        rr = await client.write_registers(reg.SEGMENT_BASE + 2, f32(500.0), device_id=UNIT)
        assert rr.isError()
        assert rr.exception_code == 0x03
        after = await client.read_holding_registers(reg.SEGMENT_BASE, count=8, device_id=UNIT)
        assert after.registers == before.registers
        assert await command(client, 4) == 0x03
        await client.write_register(reg.SEGMENT_COUNT.address, 0, device_id=UNIT)
        assert await command(client, reg.CMD_START) == 0x03

    async def test_program_change_while_running_is_refused_with_0x06(
        self, client: AsyncModbusTcpClient
    ) -> None:
        """While running: a segment write, a segment_count write and a second start get
        0x06; the N2 setpoint may change; abort is accepted, then reset returns to idle."""
        await download(client, segment(RAMP, 150, rate=3))
        assert await command(client, reg.CMD_START) == 0
        rr = await client.write_registers(reg.SEGMENT_BASE, segment(SOAK, 100, 0, 60))
        assert rr.isError()
        assert rr.exception_code == 0x06
        rr = await client.write_register(reg.SEGMENT_COUNT.address, 1, device_id=UNIT)
        assert rr.exception_code == 0x06
        assert await command(client, reg.CMD_START) == 0x06
        assert await command(client, reg.CMD_RESET) == 0x06
        rr = await client.write_registers(reg.N2_SETPOINT.address, f32(80.0), device_id=UNIT)
        assert not rr.isError()
        assert await command(client, reg.CMD_ABORT) == 0
        assert (await read_inputs(client))[reg.PROGRAM_STATE.address] == 3
        assert await command(client, reg.CMD_RESET) == 0
        assert (await read_inputs(client))[reg.PROGRAM_STATE.address] == 0

    async def test_data_and_refused_command_in_one_write_change_nothing(
        self, client: AsyncModbusTcpClient
    ) -> None:
        """A write of command=start with segment_count=1 whose segment is a zero-rate ramp
        is refused with 0x03, and segment_count stays 0: a request applies whole or not."""
        rr = await client.write_registers(reg.COMMAND.address, [reg.CMD_START, 1], device_id=UNIT)
        assert rr.exception_code == 0x03
        hr = await client.read_holding_registers(reg.SEGMENT_COUNT.address, count=1)
        assert hr.registers == [0]

    async def test_undocumented_addresses_are_refused_with_0x02(
        self, client: AsyncModbusTcpClient
    ) -> None:
        """Input register 40, holding 106..109, half a float32 and coils do not exist: 0x02."""
        rr = await client.read_input_registers(reg.INPUT_COUNT, count=1, device_id=UNIT)
        assert rr.exception_code == 0x02
        rr = await client.read_holding_registers(106, count=1, device_id=UNIT)
        assert rr.exception_code == 0x02
        rr = await client.write_register(107, 1, device_id=UNIT)
        assert rr.exception_code == 0x02
        rr = await client.write_register(reg.N2_SETPOINT.address, 0, device_id=UNIT)
        assert rr.exception_code == 0x02
        rr = await client.read_coils(0, count=1, device_id=UNIT)
        assert rr.exception_code == 0x02

    async def test_injected_fault_shows_in_alarm_registers(
        self, sim: OvenSimulator, client: AsyncModbusTcpClient
    ) -> None:
        """inject() raises the alarm bit and zone mask on the wire; clear() drops them."""
        sim.inject("heater_failure:zone=2")
        sim.inject("tc_open:zone=3")
        w = await read_inputs(client)
        assert w[reg.ALARM_BITS.address] == reg.ALARM_HEATER_FAILURE | reg.ALARM_TC_OPEN
        assert w[reg.HEATER_FAULT_MASK.address] == 0b010
        assert w[reg.TC_OPEN_MASK.address] == 0b100
        assert math.isnan(as_f32(w, reg.zone_temp_address(3)))
        sim.clear()
        assert (await read_inputs(client))[reg.ALARM_BITS.address] == 0


def raw_read_input_floats(port: int, address: int, count: int) -> list[float]:
    """A hand-written Modbus TCP client, socket + struct only, as docs/tools/cure-oven.md shows."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        # MBAP: transaction id, protocol 0, length of what follows, unit id; then PDU:
        # function 4 (read input registers), start address, register count.
        sock.sendall(struct.pack(">HHHBBHH", 1, 0, 6, reg.UNIT_ID, 4, address, 2 * count))
        head = _recv_exact(sock, 7)
        tid, proto, length, _unit = struct.unpack(">HHHB", head)
        body = _recv_exact(sock, length - 1)
    assert (tid, proto) == (1, 0)
    assert body[0] == 4, f"exception response: {body.hex()}"
    assert body[1] == 4 * count
    return list(struct.unpack(f">{count}f", body[2:]))


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data


class TestThirdPartyClients:
    async def test_raw_socket_client_reads_zone_temperatures(self, sim: OvenSimulator) -> None:
        """A client written from the doc page alone (MBAP frame by hand) reads 4 zone
        temperatures that match the simulator's true temperatures within the noise."""
        temps = await asyncio.to_thread(raw_read_input_floats, sim.port, reg.ZONE_TEMP_BASE, 4)
        truth = sim.truth().zone_c
        assert temps == pytest.approx(list(truth), abs=0.2)

    @pytest.mark.skipif(shutil.which("mbpoll") is None, reason="mbpoll not installed")
    async def test_mbpoll_reads_zone_temperatures(self, sim: OvenSimulator) -> None:
        """mbpoll, with the 1-based reference and flags from the doc page, reads 4 floats."""
        proc = await asyncio.create_subprocess_exec(
            "mbpoll", "-m", "tcp", "-a", "1", "-p", str(sim.port), "-t", "3:float", "-B",
            "-r", "17", "-c", "4", "-1", "127.0.0.1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), timeout=10)
        assert proc.returncode == 0, err.decode()
        values = dict(re.findall(r"^\[(\d+)\]:\s+(\S+)$", out.decode(), flags=re.MULTILINE))
        assert sorted(values) == ["17", "19", "21", "23"]
        assert [float(values[k]) for k in sorted(values)] == pytest.approx(
            list(sim.truth().zone_c), abs=0.2
        )


class TestTiming:
    async def test_keeps_up_at_speed_3000(self) -> None:
        """At speed 3000 the physics advances ~3000 sim seconds per wall second."""
        async with OvenSimulator("127.0.0.1", free_port(), speed=3000) as oven:
            await asyncio.sleep(1.0)
            sim_s = oven.plant.sim_time_s
            lag = oven.speed * 1.0 - sim_s
        assert sim_s > 2700
        assert lag < 300

    async def test_busy_port_is_a_config_error_naming_the_port(self) -> None:
        """A second simulator on a port already in use fails to start with SimConfigError."""
        async with OvenSimulator("127.0.0.1", 0) as first:
            second = OvenSimulator("127.0.0.1", first.port)
            with pytest.raises(SimConfigError, match=f"port {first.port}: cannot listen"):
                await second.start()
            await second.stop()

    async def test_port_zero_binds_a_free_port(self) -> None:
        """Port 0 asks the OS for a free port; sim.port reports the one bound."""
        async with OvenSimulator("127.0.0.1", 0) as oven:
            assert oven.port > 0


class TestCli:
    async def test_runs_until_sigterm_and_logs_its_start(self) -> None:
        """`sim oven` serves until SIGTERM, logs host/port/speed and faults, returns 0."""
        parser = argparse.ArgumentParser()
        cli.add_parser(parser.add_subparsers())
        port = free_port()
        args = parser.parse_args(
            ["oven", "--port", str(port), "--speed", "120", "--fault", "door_open"]
        )
        with capture_logs() as logs:
            task = asyncio.create_task(cli.run(args))
            for _ in range(100):
                if any(e["event"] == "oven simulator listening" for e in logs):
                    break
                await asyncio.sleep(0.02)
            temps = await asyncio.to_thread(raw_read_input_floats, port, reg.ZONE_TEMP_BASE, 1)
            os.kill(os.getpid(), signal.SIGTERM)
            assert await asyncio.wait_for(task, timeout=5) == 0
        assert 20 < temps[0] < 30
        start = next(e for e in logs if e["event"] == "oven simulator listening")
        assert (start["host"], start["port"], start["speed"]) == ("127.0.0.1", port, 120.0)
        assert start["faults"] == ["door_open"]
