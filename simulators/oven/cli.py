"""`pkgline sim oven`: run the cure-oven simulator until SIGINT or SIGTERM.

The lead's CLI wires it: `add_parser(subparsers)` adds the `oven` verb and
`await run(args)` serves. Bad arguments raise `SimConfigError` whose one-line
message names the argument; the CLI prints it and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import sys
from typing import Any

import structlog

from drivers.cure_oven import registers as reg
from simulators.errors import SimConfigError
from simulators.oven.faults import Fault, FaultSpecError, parse_fault
from simulators.oven.server import OvenSimulator

DEFAULT_PORT = 5020  # unprivileged stand-in for Modbus's 502

log = structlog.get_logger("simulators.oven")


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the `oven` verb to a `sim` sub-command's subparsers; returns its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "oven",
        help="simulated cure oven on Modbus TCP",
        description="Serve a simulated multi-zone cure oven over Modbus TCP "
        "(register map: docs/tools/cure-oven.md) until SIGINT or SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (0: any free)")
    parser.add_argument("--speed", type=float, default=1.0, help="sim seconds per wall second")
    parser.add_argument("--zones", type=int, default=4, help=f"heater zones, 1..{reg.MAX_ZONES}")
    parser.add_argument(
        "--fault",
        dest="faults",
        action="append",
        default=[],
        metavar="SPEC",
        help="fault to inject, repeatable: heater_failure:zone=N[,at=S], tc_open:zone=N, "
        "overshoot:zone=N,delta=C, door_open, n2_loss (at=S: from program time S s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the measurement noise")
    return parser


def simulator_from_args(args: argparse.Namespace) -> OvenSimulator:
    """Check the arguments and build the simulator; SimConfigError names a bad argument."""
    speed = float(args.speed)
    if not (math.isfinite(speed) and speed > 0):
        raise SimConfigError(f"--speed must be a number > 0, got {args.speed}")
    if not 0 <= args.port <= 65535:
        raise SimConfigError(f"--port must be 0..65535, got {args.port}")
    if not 1 <= args.zones <= reg.MAX_ZONES:
        raise SimConfigError(f"--zones must be 1..{reg.MAX_ZONES}, got {args.zones}")
    faults: list[Fault] = []
    for spec in args.faults:
        try:
            faults.append(parse_fault(spec, args.zones))
        except FaultSpecError as exc:
            raise SimConfigError(f"--fault: {exc}") from None
    return OvenSimulator(
        args.host, args.port, speed=speed, zones=args.zones, faults=faults, seed=args.seed
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
            await stop.wait()
            log.info("oven simulator stopping", reason="signal")
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    return 0
