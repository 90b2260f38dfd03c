"""`pkgline demo`: a simulated line (press, ovens, plater) + daemon (+ TUI) on an embedded SQLite.

Lots follow the InFO/WMCM route with two RDL layers. Headless, a scripted
operator does what one would on the floor: tracks lots in on free tools,
tracks manual steps in and out, records die maps at PLACE and bin maps at TEST.
"""

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
from mes.domain.diemap import DieBin, DiePlacement
from mes.domain.errors import DomainError
from mes.domain.routes import Route
from mes.services import (
    diemaps,
    ledger,
    lookup,
    lots,
    plating,
    qualification,
    reads,
    recipes,
    routes,
    tools,
    users,
)
from mes.store import migrate
from mes.store.db import make_engine
from recipes.faraday import programmed_duration_s
from recipes.loader import library_recipes, load_oven_recipe
from recipes.plating import load_plating_recipe
from recipes.profile import total_duration_s

REPO = Path(__file__).resolve().parents[2]
ROUTE_FILE = REPO / "deploy" / "routes" / "info-wmcm.toml"
ROUTE = "info-wmcm"
OPERATOR, ENGINEER = "op1", "eng1"
BEFORE_MOLD = ("CARRIER", "PLACE")  # manual steps done when the lots are created
OPC_USER, OPC_PASSWORD_ENV = "mes", "PKGLINE_DEMO_OPC_PASSWORD"
DIES = [(x, y) for y in range(3) for x in range(3)]  # each wafer's die positions in the demo
PLATER_CELLS = 2


@dataclass
class Line:
    workdir: Path
    url: str
    ports: list[int]
    press_port: int
    plater_port: int
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


def opc_speed(speed: float) -> float:
    """A press cycle or a plated wafer lasts minutes, not hours: faster than ×100 the
    daemon's polls would miss a fill stage or a plating step change, so the press and the
    plater run at most ×100 while the ovens run at `speed`."""
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


def _opc_tool(workdir: Path, tool_id: str, tool_type: str, port: int, pki: str) -> list[str]:
    return [
        "[[tools]]",
        f'id = "{tool_id}"',
        f'type = "{tool_type}"',
        'protocol = "opcua"',
        'host = "127.0.0.1"',
        f"port = {port}",
        "timeout_s = 2.0",
        "",
        "[tools.security]",
        f'server_cert = "{workdir.resolve()}/pki/{pki}/server-cert.der"',
        f'client_cert_dir = "{workdir.resolve()}/pki/client"',
        f'username = "{OPC_USER}"',
        f'password_env = "{OPC_PASSWORD_ENV}"',
        "",
    ]


def _config(workdir: Path, url: str, line: Line, speed: float) -> Path:
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
    lines += _opc_tool(workdir, "PRESS-01", "molding_press", line.press_port, "press")
    lines += _opc_tool(workdir, "PLATER-01", "plating_tool", line.plater_port, "plater")
    for i, port in enumerate(line.ports, start=1):
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
    """Users, recipes (approved), the route, and lots queued at MOLD: carrier prepared and
    known-good dies placed (a die map per wafer) by hand."""
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
        for step in BEFORE_MOLD:
            lots.track_in(engine, OPERATOR, lot_id)
            if step == "PLACE":
                record_die_maps(engine, lot_id, wafers)
            lots.track_out(engine, OPERATOR, lot_id)
        ids.append(lot_id)
    return ids


def record_die_maps(engine: Engine, lot_id: str, wafers: int) -> None:
    """Pick & place: each position of each wafer gets a known-good die from a source wafer."""
    placements = [
        DiePlacement(lookup.wafer_id(lot_id, slot), x, y, f"KGD-{slot:02d}", x + 10, y + 10)
        for slot in range(1, wafers + 1)
        for x, y in DIES
    ]
    diemaps.record_die_map(engine, OPERATOR, placements)


def record_bin_maps(engine: Engine, lot_id: str, wafers: int) -> None:
    """Final test: bin 1 (good) except one die of the first wafer in bin 3."""
    bins = [
        DieBin(lookup.wafer_id(lot_id, slot), x, y, 3 if (slot, x, y) == (1, 1, 1) else 1)
        for slot in range(1, wafers + 1)
        for x, y in DIES
    ]
    diemaps.record_bin_map(engine, OPERATOR, bins)


def qualify_tools(engine: Engine, ovens: int) -> None:
    """Register the demo's tools (the daemon finds them there) and qualify each for every
    step of the route that runs on its type (both RDL layers by the step's base name):
    track-in refuses an unqualified tool."""
    line_tools = [("PRESS-01", "molding_press"), ("PLATER-01", "plating_tool")]
    line_tools += [(f"OVEN-{i:02d}", "cure_oven") for i in range(1, ovens + 1)]
    steps = routes.read_route_file(ROUTE_FILE).steps
    for tool_id, tool_type in line_tools:
        tools.register(engine, ENGINEER, tool_id, tool_type)
        bases = {st.name.rpartition(".")[2] for st in steps if st.tool_type == tool_type}
        for base in sorted(bases):
            qualification.qualify(engine, ENGINEER, tool_id, base)


def _opc_sim(kind: str, port: int, speed: float, workdir: Path) -> list[str]:
    return _pkgline(
        "sim",
        kind,
        "--port",
        str(port),
        "--speed",
        f"{opc_speed(speed):g}",
        "--cert-dir",
        str(workdir / "pki" / kind),
        "--user",
        OPC_USER,
        "--password-env",
        OPC_PASSWORD_ENV,
    )


def start_line(args: argparse.Namespace, faults: list[tuple[int, str]]) -> Line:
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    db = (workdir / f"demo-{stamp}.db").resolve()
    url = f"sqlite:///{db}"
    line = Line(workdir, url, [], _free_port(), _free_port(), [])
    env = os.environ | {OPC_PASSWORD_ENV: secrets.token_urlsafe(16)}
    for kind, port in (("press", line.press_port), ("plater", line.plater_port)):
        line.procs.append(
            _spawn(_opc_sim(kind, port, args.speed, workdir), workdir / f"{kind}-01.log", env)
        )
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
    ports = [line.press_port, line.plater_port, *line.ports]
    for port, proc in zip(ports, line.procs, strict=True):
        _wait_port(port, proc)
    config = _config(workdir, url, line, args.speed)
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
        f"demo line: a press, a plater, {args.ovens} oven(s) at speed {args.speed:g} "
        f"(press and plater at {opc_speed(args.speed):g}), database {db}",
        file=sys.stderr,
    )
    print(f"logs: {workdir}/*.log", file=sys.stderr)
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


def dispatch(engine: Engine, route: Route) -> None:
    """What an operator would do: track waiting lots in on free tools of their step's type,
    and through the manual steps (recording the bin maps at TEST)."""
    free = [
        t
        for t in reads.tools(engine)
        if t.e10_state == "standby" and t.run_id is None and t.lease_owner and t.online
    ]
    for lot in reads.lots(engine):
        if lot.status != "waiting" or lot.on_hold:
            continue
        step = route.step(route.index_of(lot.step))
        try:
            if step.tool_type is None:
                lots.track_in(engine, OPERATOR, lot.id)
                if step.name == "TEST":
                    record_bin_maps(engine, lot.id, lot.wafers)
                lots.track_out(engine, OPERATOR, lot.id)
                continue
            tool = next((t for t in free if t.type == step.tool_type), None)
            if tool is not None:
                lots.track_in(engine, OPERATOR, lot.id, tool.id)
                free.remove(tool)
        except DomainError as exc:
            print(f"{lot.id} at {lot.step}: {exc}", file=sys.stderr)


def _budget_s(route: Route, lots_n: int, ovens: int, speed: float, wafers: int) -> float:
    """Wall time the lots need through the route on this line, doubled, plus a minute."""
    oven_s = press_s = plater_s = 0.0
    for step in route.steps:
        if step.tool_type == "cure_oven" and step.recipe:
            recipe = load_oven_recipe(REPO / "recipes" / "library" / f"{step.recipe}.toml")
            oven_s += total_duration_s(recipe, 25.0) * -(-lots_n // ovens) / speed
        elif step.tool_type == "molding_press":
            press_s += lots_n * wafers * 150.0 / opc_speed(speed)  # ~140 s a wafer
        elif step.tool_type == "plating_tool" and step.recipe:
            recipe_p = load_plating_recipe(REPO / "recipes" / "library" / f"{step.recipe}.toml")
            rounds = lots_n * -(-wafers // PLATER_CELLS)
            plater_s += programmed_duration_s(recipe_p) * rounds / opc_speed(speed)
    return (oven_s + press_s + plater_s) * 2 + 60


def run_headless(engine: Engine, lot_ids: list[str], ovens: int, speed: float, wafers: int) -> int:
    route = routes.read_route_file(ROUTE_FILE)
    deadline = time.monotonic() + _budget_s(route, len(lot_ids), ovens, speed, wafers)
    while time.monotonic() < deadline:
        dispatch(engine, route)
        rows = [r for r in reads.lots(engine) if r.id in lot_ids]
        if all(r.status == "finished" or r.on_hold for r in rows):
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
        passed = sum(1 for r in mine if r.outcome == "tracked_out")
        alarms = reads.alarms(engine, limit=1000, lot_id=lot_id)
        alphas = [w.alpha for w in ledger.cure_states(engine, lot_id) if w.alpha is not None]
        cu = [p.thickness_um for p in plating.records_of(engine, lot_id)]
        expected = lot.status == "finished" and not lot.on_hold
        ok &= expected
        out.append(
            [
                lot_id,
                lot.step,
                lot.status,
                f"{passed}/{len(mine)}",
                " ".join(dict.fromkeys(r.tool_id for r in mine)),
                str(sum(r.samples for r in mine)),
                str(len(alarms)),
                f"{min(alphas):.3f}" if alphas else "-",
                f"{min(cu):.2f}-{max(cu):.2f}" if cu else "-",
                "ok" if expected else (lot.hold_reason or "did not finish"),
            ]
        )
    headers = [
        "lot",
        "step",
        "status",
        "runs ok",
        "tools",
        "samples",
        "alarms",
        "α min",
        "Cu µm",
        "result",
    ]
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
