"""`pkgline sim plater`: run the Cu plating-tool simulator until SIGINT or SIGTERM.

The lead's CLI wires it: `add_parser(subparsers)` adds the `plater` verb and
`await run(args)` serves. Bad arguments raise `SimConfigError` whose one-line
message names the argument; the CLI prints it and exits 2. The password
never goes on the command line (where `ps` shows it): it comes from an
environment variable or a file.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import structlog

from drivers.plater import nodes
from simulators import cli_common
from simulators.errors import SimConfigError
from simulators.fault_spec import FaultSpecError
from simulators.plater.faults import parse_fault
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
    cli_common.add_network_options(parser, nodes.DEFAULT_PORT)
    cli_common.add_security_options(parser, DEFAULT_CERT_DIR)
    cli_common.add_fault_options(
        parser,
        "contact:cell=K[,at=S], rectifier_trip:cell=K[,at=S] "
        "(at=S: from the cell's job time S s), bath_overtemp[:at=S] (from tool time S s)",
    )
    parser.add_argument(
        "--cells",
        type=int,
        default=nodes.CELLS,
        metavar="N",
        help=f"plating cells on the tool, 1..{nodes.MAX_CELLS} (default {nodes.CELLS}); "
        "one wafer per cell",
    )
    parser.add_argument(
        "--amp-hours",
        type=float,
        default=0.0,
        metavar="AH",
        help="bath age at start in A·h (current efficiency drifts down with it)",
    )
    return parser


def simulator_from_args(args: argparse.Namespace) -> PlaterSimulator:
    """Check the arguments and build the simulator; SimConfigError names a bad argument."""
    speed = cli_common.check_speed_and_port(args)
    if not 1 <= args.cells <= nodes.MAX_CELLS:
        raise SimConfigError(f"--cells must be 1..{nodes.MAX_CELLS}, got {args.cells}")
    amp_hours = float(args.amp_hours)
    if not (math.isfinite(amp_hours) and amp_hours >= 0):
        raise SimConfigError(f"--amp-hours must be a number ≥ 0, got {args.amp_hours}")
    users = cli_common.users_from_args(args, log)
    faults = cli_common.parse_faults(args.faults, parse_fault)
    try:
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
            cells=args.cells,
        )
    except FaultSpecError as exc:  # a fault on a cell the tool lacks (checked by the plant)
        raise SimConfigError(f"--fault: {exc}") from None


async def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit code (0)."""
    sim = simulator_from_args(args)
    return await cli_common.serve(sim, "plater", log, lambda: sim.server_cert_path)
