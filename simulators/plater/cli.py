"""`pkgline sim plater`: run the Cu plating-tool simulator until SIGINT or SIGTERM.

The lead's CLI wires it: `add_parser(subparsers)` adds the `plater` verb and
`await run(args)` serves. Bad arguments raise `SimConfigError` whose one-line
message names the argument; the CLI prints it and exits 2. The password
never goes on the command line (where `ps` shows it): it comes from an
environment variable or a file.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any

import structlog

from drivers.plater import nodes
from simulators.errors import SimConfigError
from simulators.plater.faults import Fault, FaultSpecError, parse_fault
from simulators.plater.server import PlaterSimulator

DEFAULT_CERT_DIR = Path("var/plater-sim/pki")

log = structlog.get_logger("simulators.plater")


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the `plater` verb to a `sim` sub-command's subparsers; returns its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plater",
        help="simulated Cu plating tool on OPC UA",
        description="Serve a simulated Cu plating tool over OPC UA (node model: "
        "docs/tools/plating-tool.md) until SIGINT or SIGTERM. Secure by default: "
        "Basic256Sha256 SignAndEncrypt and a user name and password.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=nodes.DEFAULT_PORT, help="TCP port (0: any free)"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="sim seconds per wall second")
    parser.add_argument(
        "--cert-dir",
        type=Path,
        default=DEFAULT_CERT_DIR,
        metavar="DIR",
        help="server certificate and key: made here on first start, reused after "
        f"(default {DEFAULT_CERT_DIR})",
    )
    parser.add_argument(
        "--trust-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="accept only client certificates found in DIR (or issued by a CA in it); "
        "default: any client certificate inside its validity period",
    )
    parser.add_argument("--user", metavar="NAME", help="the user name clients log in with")
    password = parser.add_mutually_exclusive_group()
    password.add_argument(
        "--password-env", metavar="VAR", help="environment variable holding the password"
    )
    password.add_argument(
        "--password-file", type=Path, metavar="FILE", help="file holding the password"
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="lab only: one endpoint without security, anonymous access, no certificates",
    )
    parser.add_argument(
        "--fault",
        dest="faults",
        action="append",
        default=[],
        metavar="SPEC",
        help="fault to inject, repeatable: contact:cell=K[,at=S], rectifier_trip:cell=K[,at=S] "
        "(at=S: from the cell's job time S s), bath_overtemp[:at=S] (from tool time S s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the measurement noise")
    parser.add_argument(
        "--amp-hours",
        type=float,
        default=0.0,
        metavar="AH",
        help="bath age at start in A·h (current efficiency drifts down with it)",
    )
    return parser


def _password(args: argparse.Namespace) -> str:
    if args.password_env:
        value = os.environ.get(args.password_env)
        if not value:
            raise SimConfigError(
                f"--password-env: environment variable {args.password_env} is not set or empty"
            )
        return value
    if args.password_file is not None:
        path: Path = args.password_file
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
            mode = path.stat().st_mode
        except OSError as exc:
            raise SimConfigError(f"--password-file: cannot read {path} ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise SimConfigError(f"--password-file: {path} is not UTF-8 text") from None
        if not value:
            raise SimConfigError(f"--password-file: {path} is empty")
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("password file readable by others; chmod 600 it", path=str(path))
        return value
    raise SimConfigError("--password-env or --password-file is required with --user")


def simulator_from_args(args: argparse.Namespace) -> PlaterSimulator:
    """Check the arguments and build the simulator; SimConfigError names a bad argument."""
    speed = float(args.speed)
    if not (math.isfinite(speed) and speed > 0):
        raise SimConfigError(f"--speed must be a number > 0, got {args.speed}")
    if not 0 <= args.port <= 65535:
        raise SimConfigError(f"--port must be 0..65535, got {args.port}")
    amp_hours = float(args.amp_hours)
    if not (math.isfinite(amp_hours) and amp_hours >= 0):
        raise SimConfigError(f"--amp-hours must be a number ≥ 0, got {args.amp_hours}")
    users: dict[str, str] = {}
    if args.insecure:
        if args.user or args.password_env or args.password_file:
            raise SimConfigError("--user/--password-*: --insecure serves anonymous clients only")
        if args.trust_dir is not None:
            raise SimConfigError("--trust-dir: --insecure takes no client certificates")
    else:
        if not args.user:
            raise SimConfigError("--user is required (or --insecure for an open lab server)")
        users[args.user] = _password(args)
        if args.trust_dir is not None and not args.trust_dir.is_dir():
            raise SimConfigError(f"--trust-dir: {args.trust_dir} is not a directory")
        if args.cert_dir.exists() and not args.cert_dir.is_dir():
            raise SimConfigError(f"--cert-dir: {args.cert_dir} is not a directory")
    faults: list[Fault] = []
    for spec in args.faults:
        try:
            faults.append(parse_fault(spec))
        except FaultSpecError as exc:
            raise SimConfigError(f"--fault: {exc}") from None
    return PlaterSimulator(
        args.host,
        args.port,
        speed=speed,
        cert_dir=None if args.insecure else args.cert_dir,
        users=users,
        insecure=args.insecure,
        trust_dir=args.trust_dir,
        faults=faults,
        seed=args.seed,
        amp_hours0=amp_hours,
    )


async def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit code (0)."""
    sim = simulator_from_args(args)
    if not structlog.is_configured():
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        async with sim:
            if sim.server_cert_path is not None:
                log.info("clients pin this server certificate", cert=str(sim.server_cert_path))
            await stop.wait()
            log.info("plater simulator stopping", reason="signal")
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    return 0
