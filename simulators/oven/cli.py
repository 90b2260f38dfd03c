"""`pkgline sim oven`: run the cure-oven simulator until SIGINT or SIGTERM.

The lead's CLI wires it: `add_parser(subparsers)` adds the `oven` verb and
`await run(args)` serves. Bad arguments raise `SimConfigError` whose one-line
message names the argument; the CLI prints it and exits 2.
"""

from __future__ import annotations

import argparse
from typing import Any

import structlog

from drivers.cure_oven import registers as reg
from simulators import cli_common
from simulators.errors import SimConfigError
from simulators.oven.faults import parse_fault
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
    cli_common.add_network_options(parser, DEFAULT_PORT)
    parser.add_argument("--zones", type=int, default=4, help=f"heater zones, 1..{reg.MAX_ZONES}")
    cli_common.add_fault_options(
        parser,
        "heater_failure:zone=N[,at=S], tc_open:zone=N, "
        "overshoot:zone=N,delta=C, door_open, n2_loss (at=S: from program time S s)",
    )
    return parser


def simulator_from_args(args: argparse.Namespace) -> OvenSimulator:
    """Check the arguments and build the simulator; SimConfigError names a bad argument."""
    speed = cli_common.check_speed_and_port(args)
    if not 1 <= args.zones <= reg.MAX_ZONES:
        raise SimConfigError(f"--zones must be 1..{reg.MAX_ZONES}, got {args.zones}")
    faults = cli_common.parse_faults(args.faults, lambda spec: parse_fault(spec, args.zones))
    return OvenSimulator(
        args.host, args.port, speed=speed, zones=args.zones, faults=faults, seed=args.seed
    )


async def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit code (0)."""
    return await cli_common.serve(simulator_from_args(args), "oven", log)
