"""`pkgline demo`: simulated ovens + daemon (+ TUI) on an embedded SQLite file."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from mes.cli.common import EXIT_FAILED, EXIT_OK, CliError, table
from mes.domain.errors import DomainError
from mes.services import ledger, lots, qualification, reads, recipes, routes, tools, users
from mes.store import migrate
from mes.store.db import make_engine
from recipes.loader import library_recipes, load_oven_recipe
from recipes.profile import total_duration_s

REPO = Path(__file__).resolve().parents[2]
ROUTE_FILE = REPO / "deploy" / "routes" / "fowlp-mold.toml"
ROUTE = "fowlp-mold"
OPERATOR, ENGINEER = "op1", "eng1"
DISPATCHED = {"MOLD": "molding_press", "PMC": "cure_oven"}  # steps the demo operator runs
NEXT_STEP = "GRIND"
PRESS_USER, PRESS_PASSWORD_ENV = "mes", "PKGLINE_DEMO_PRESS_PASSWORD"


@dataclass
class Line:
    workdir: Path
    url: str
    ports: list[int]
    press_port: int
    procs: list[subprocess.Popen[bytes]]


def _check(args: argparse.Namespace) -> list[tuple[int, str]]:
    if not 1 <= args.lots <= 50:
        raise CliError(f"--lots {args.lots}: must be between 1 and 50")
    if not 1 <= args.speed <= 20000:
        raise CliError(f"--speed {args.speed:g}: must be between 1 and 20000")
    if not 1 <= args.wafers <= 25:
        raise CliError(f"--wafers {args.wafers}: must be between 1 and 25")
    if not 1 <= args.ovens <= 8:
        raise CliError(f"--ovens {args.ovens}: must be between 1 and 8")
    faults = []
    for spec in args.fault:
        oven, _, rest = spec.partition(":")
        if not oven.isdigit() or not 1 <= int(oven) <= args.ovens or not rest:
            raise CliError(f"--fault {spec!r}: expected OVEN:SPEC with OVEN in 1..{args.ovens}")
        faults.append((int(oven), rest))
    return faults


def press_speed(speed: float) -> float:
    """A press cycle lasts minutes, not hours: faster than ×100 the daemon's polls would
    miss the fill stage, so the press runs at most ×100 while the ovens run at `speed`."""
    return min(speed, 100.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CliError(f"simulator on port {port} exited with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise CliError(f"simulator on port {port} did not start within {timeout_s:g} s")


def _spawn(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=fh, stdin=subprocess.DEVNULL, env=env)


def _pkgline(*args: str) -> list[str]:
    return [sys.executable, "-m", "mes.cli", *args]


def _config(workdir: Path, url: str, ports: list[int], press_port: int, speed: float) -> Path:
    # One sample per ~60 s of program time, but never faster than 20 ms of wall time.
    poll = max(0.02, min(0.5, 60.0 / speed))
    lines = [
        "[line]",
        'name = "demo"',
        f'database_url = "{url}"',
        "",
        "[daemon]",
        'id = "demo-daemon"',
        f"poll_interval_s = {poll:.3f}",
        "idle_poll_interval_s = 0.5",
        "claim_interval_s = 0.2",
        "",
    ]
    lines += [
        "[[tools]]",
        'id = "PRESS-01"',
        'type = "molding_press"',
        'protocol = "opcua"',
        'host = "127.0.0.1"',
        f"port = {press_port}",
        "timeout_s = 2.0",
        "",
        "[tools.security]",
        f'server_cert = "{workdir.resolve()}/pki/press/server-cert.der"',
        f'client_cert_dir = "{workdir.resolve()}/pki/client"',
        f'username = "{PRESS_USER}"',
        f'password_env = "{PRESS_PASSWORD_ENV}"',
        "",
    ]
    for i, port in enumerate(ports, start=1):
        lines += [
            "[[tools]]",
            f'id = "OVEN-{i:02d}"',
            'type = "cure_oven"',
            'protocol = "modbus"',
            'host = "127.0.0.1"',
            f"port = {port}",
            "",
        ]
    path = workdir / "line.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def seed(engine: Engine, n_lots: int, wafers: int) -> list[str]:
    """Users, recipes (approved), the route and lots queued at MOLD (PLACE done by hand)."""
    users.bootstrap(engine, "admin")
    users.add(engine, "admin", OPERATOR, "operator")
    users.add(engine, "admin", ENGINEER, "engineer")
    for path in library_recipes(None):
        row = recipes.import_file(engine, ENGINEER, path)
        recipes.approve(engine, ENGINEER, row.name, row.version)
    routes.import_file(engine, ENGINEER, ROUTE_FILE)
    ids = []
    for i in range(1, n_lots + 1):
        lot_id = f"DEMO-{i:03d}"
        lots.create(engine, OPERATOR, lot_id, ROUTE, wafers)
        lots.track_in(engine, OPERATOR, lot_id)  # PLACE is manual
        lots.track_out(engine, OPERATOR, lot_id)
        ids.append(lot_id)
    return ids


def qualify_tools(engine: Engine, ovens: int) -> None:
    """Register the demo's tools (the daemon finds them there) and qualify each for every
    step of the route that runs on its type: track-in refuses an unqualified tool."""
    line_tools = [("PRESS-01", "molding_press")]
    line_tools += [(f"OVEN-{i:02d}", "cure_oven") for i in range(1, ovens + 1)]
    steps = routes.read_route_file(ROUTE_FILE).steps
    for tool_id, tool_type in line_tools:
        tools.register(engine, ENGINEER, tool_id, tool_type)
        for step in steps:
            if step.tool_type == tool_type:
                qualification.qualify(engine, ENGINEER, tool_id, step.name)


def start_line(args: argparse.Namespace, faults: list[tuple[int, str]]) -> Line:
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    db = (workdir / f"demo-{stamp}.db").resolve()
    url = f"sqlite:///{db}"
    line = Line(workdir, url, [], _free_port(), [])
    env = os.environ | {PRESS_PASSWORD_ENV: secrets.token_urlsafe(16)}
    press = _spawn(
        _pkgline(
            "sim",
            "press",
            "--port",
            str(line.press_port),
            "--speed",
            f"{press_speed(args.speed):g}",
            "--cert-dir",
            str(workdir / "pki" / "press"),
            "--user",
            PRESS_USER,
            "--password-env",
            PRESS_PASSWORD_ENV,
        ),
        workdir / "press-01.log",
        env,
    )
    line.procs.append(press)
    for i in range(1, args.ovens + 1):
        port = _free_port()
        cmd = _pkgline(
            "sim", "oven", "--port", str(port), "--speed", f"{args.speed:g}", "--seed", str(i)
        )
        for n, spec in faults:
            if n == i:
                cmd += ["--fault", spec]
        proc = _spawn(cmd, workdir / f"oven-{i:02d}.log", env)
        line.procs.append(proc)
        line.ports.append(port)
    for port, proc in zip([line.press_port, *line.ports], line.procs, strict=True):
        _wait_port(port, proc)
    config = _config(workdir, url, line.ports, line.press_port, args.speed)
    engine = make_engine(url)
    migrate.upgrade(engine)
    seed(engine, args.lots, args.wafers)
    qualify_tools(engine, args.ovens)
    env = env | {"PKGLINE_DATABASE_URL": url}
    with (workdir / "daemon.log").open("ab") as fh:
        line.procs.append(
            subprocess.Popen(
                _pkgline("daemon", "--config", str(config)),
                stdout=fh,
                stderr=fh,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        )
    print(
        f"demo line: {args.ovens} oven(s) at speed {args.speed:g}, database {db}", file=sys.stderr
    )
    print(f"logs: {workdir}/oven-*.log, {workdir}/daemon.log", file=sys.stderr)
    return line


def stop_line(line: Line) -> None:
    for proc in reversed(line.procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in line.procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def dispatch(engine: Engine) -> None:
    """What an operator would do: track waiting lots in on free tools of their step's type."""
    free = [
        t
        for t in reads.tools(engine)
        if t.e10_state == "standby" and t.run_id is None and t.lease_owner and t.online
    ]
    for lot in reads.lots(engine):
        tool_type = DISPATCHED.get(lot.step)
        if tool_type is None or lot.status != "waiting" or lot.on_hold:
            continue
        tool = next((t for t in free if t.type == tool_type), None)
        if tool is None:
            continue
        try:
            lots.track_in(engine, OPERATOR, lot.id, tool.id)
            free.remove(tool)
        except DomainError as exc:
            print(f"track-in {lot.id}: {exc}", file=sys.stderr)


def run_headless(engine: Engine, lot_ids: list[str], ovens: int, speed: float, wafers: int) -> int:
    pmc = load_oven_recipe(next(p for p in library_recipes() if p.stem == "pmc-175"))
    rounds = -(-len(lot_ids) // ovens)
    molding = len(lot_ids) * wafers * 150.0 / press_speed(speed)  # ~140 s a wafer, one press
    budget = (rounds * total_duration_s(pmc, 25.0) / speed + molding) * 2 + 60
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        dispatch(engine)
        rows = [r for r in reads.lots(engine) if r.id in lot_ids]
        if all(r.step not in DISPATCHED or r.on_hold for r in rows):
            break
        time.sleep(0.2)
    return summary(engine, lot_ids)


def summary(engine: Engine, lot_ids: list[str]) -> int:
    rows = {r.id: r for r in reads.lots(engine)}
    run_rows = reads.runs(engine)
    out, ok = [], True
    for lot_id in lot_ids:
        lot = rows[lot_id]
        mine = [r for r in run_rows if r.lot_id == lot_id]
        alarms = reads.alarms(engine, limit=1000, lot_id=lot_id)
        alphas = [w.alpha for w in ledger.cure_states(engine, lot_id) if w.alpha is not None]
        expected = lot.step == NEXT_STEP and not lot.on_hold
        ok &= expected
        out.append(
            [
                lot_id,
                lot.step,
                lot.status,
                str(len(mine)),
                ", ".join(f"{r.tool_id}:{r.outcome or r.status}" for r in mine),
                str(sum(r.samples for r in mine)),
                str(len(alarms)),
                f"{min(alphas):.3f}" if alphas else "-",
                "ok" if expected else (lot.hold_reason or "did not finish"),
            ]
        )
    headers = ["lot", "step", "status", "runs", "outcome", "samples", "alarms", "α min", "result"]
    print(table(headers, out))
    print(f"\n{sum(1 for r in out if r[-1] == 'ok')}/{len(out)} lots ended as expected")
    return EXIT_OK if ok else EXIT_FAILED


def run_demo(args: argparse.Namespace) -> int:
    faults = _check(args)
    line = start_line(args, faults)
    try:
        engine = make_engine(line.url)
        lot_ids = [r.id for r in reads.lots(engine)]
        if args.headless:
            return run_headless(engine, lot_ids, args.ovens, args.speed, args.wafers)
        from mes.tui import run_tui

        run_tui(engine, OPERATOR)
        return EXIT_OK
    finally:
        stop_line(line)
