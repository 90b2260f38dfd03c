"""`make bench`: pkgline's paths against the raw library calls, same machine, same run.

- sample ingest: pkgline's writer (Core executemany through SampleBuffer's path)
  vs raw sqlite3.executemany in WAL mode, on the same rows;
- oven read: the driver's full snapshot (input image + run id, decoded) vs the
  raw pymodbus read of the same 40 input registers, against the simulator.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from drivers.cure_oven.driver import ModbusOven
from drivers.modbus.transport import ModbusTransport
from mes.services.runs import write_samples
from mes.store.db import create_schema, make_engine
from mes.store.tables import Lot, Route, Run, Tool
from simulators.oven.server import OvenSimulator

ROWS = 100_000
READS = 500


def _rows(run_id: int) -> list[tuple[int, float, datetime, str, float | None]]:
    ts = datetime.now(UTC)
    return [(run_id, i / 7, ts, f"zone{i % 7}_c", 175.0 + (i % 13) * 0.1) for i in range(ROWS)]


def bench_ingest(tmp: Path) -> tuple[float, float]:
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    create_schema(engine)
    from sqlmodel import Session

    with Session(engine) as s:
        s.add(Route(name="r", steps_json="[]"))
        s.add(Tool(id="T", type="cure_oven", e10_state="standby"))
        s.flush()
        s.add(Lot(id="L", product="p", route="r", status="running", wafers=1))
        s.flush()
        s.add(
            Run(
                id=1,
                lot_id="L",
                tool_id="T",
                step="PMC",
                recipe_name="x",
                recipe_version=1,
                status="running",
                requested_by="b",
            )
        )
        s.commit()
    rows = _rows(1)
    t0 = time.perf_counter()
    write_samples(engine, rows)
    ours = ROWS / (time.perf_counter() - t0)

    # Baseline: the same rows into the same schema (indexes, foreign keys) through
    # raw sqlite3, converting the timestamps inside the timed part as any writer must.
    raw_engine = make_engine(f"sqlite:///{tmp / 'raw.db'}")
    create_schema(raw_engine)
    raw_engine.dispose()
    raw = sqlite3.connect(tmp / "raw.db")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA foreign_keys=OFF")
    t0 = time.perf_counter()
    payload = [(r, t, ts.isoformat(" "), n, v) for r, t, ts, n, v in rows]
    with raw:
        raw.executemany(
            "INSERT INTO sample (run_id, t_program, ts, name, value) VALUES (?,?,?,?,?)", payload
        )
    base = ROWS / (time.perf_counter() - t0)
    return ours, base


async def bench_read() -> tuple[float, float]:
    async with OvenSimulator("127.0.0.1", 0, speed=1.0) as sim:
        oven = ModbusOven("OVEN", ModbusTransport("127.0.0.1", sim.port))
        await oven.connect()
        raw = AsyncModbusTcpClient("127.0.0.1", port=sim.port)
        await raw.connect()
        times_ours, times_raw = [], []
        for _ in range(READS):
            t0 = time.perf_counter()
            await oven.read()
            times_ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await raw.read_input_registers(0, count=40, device_id=1)
            times_raw.append(time.perf_counter() - t0)
        raw.close()
        await oven.close()
    return statistics.median(times_ours), statistics.median(times_raw)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        ours, base = bench_ingest(Path(d))
    print(
        f"sample ingest, SQLite, {ROWS} rows: pkgline {ours:,.0f} rows/s, "
        f"raw sqlite3 executemany {base:,.0f} rows/s, ratio {ours / base:.2f} (target >= 0.5)"
    )
    t_ours, t_raw = asyncio.run(bench_read())
    print(
        f"oven snapshot read (median of {READS}): pkgline {t_ours * 1e6:.0f} µs "
        f"(2 requests + decode), raw pymodbus 40-register read {t_raw * 1e6:.0f} µs, "
        f"ratio {t_ours / t_raw:.2f} (2 requests: expect ~2)"
    )


if __name__ == "__main__":
    main()
