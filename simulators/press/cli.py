"""`pkgline sim press`: run the molding-press simulator until SIGINT or SIGTERM.

The lead's CLI wires it: `add_parser(subparsers)` adds the `press` verb and
`await run(args)` serves. Bad arguments raise `SimConfigError` whose one-line
message names the argument; the CLI prints it and exits 2. The password
never goes on the command line (where `ps` shows it): it comes from an
environment variable or a file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import structlog

from drivers.molding_press import nodes
from simulators import cli_common
from simulators.press.faults import parse_fault
from simulators.press.server import PressSimulator

DEFAULT_CERT_DIR = Path("var/press-sim/pki")

log = structlog.get_logger("simulators.press")


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the `press` verb to a `sim` sub-command's subparsers; returns its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "press",
        help="simulated molding press on OPC UA",
        description="Serve a simulated molding press over OPC UA (node model: "
        "docs/tools/molding-press.md) until SIGINT or SIGTERM. Secure by default: "
        "Basic256Sha256 SignAndEncrypt and a user name and password.",
    )
    cli_common.add_network_options(parser, nodes.DEFAULT_PORT)
    cli_common.add_security_options(parser, DEFAULT_CERT_DIR)
    cli_common.add_fault_options(
        parser,
        "platen_heater:side=top|bottom[,at=S], "
        "pressure_loss[:cycle=N], short_fill[:cycle=N] (at=S: from job time S s)",
    )
    return parser


def simulator_from_args(args: argparse.Namespace) -> PressSimulator:
    """Check the arguments and build the simulator; SimConfigError names a bad argument."""
    speed = cli_common.check_speed_and_port(args)
    users = cli_common.users_from_args(args, log)
    faults = cli_common.parse_faults(args.faults, parse_fault)
    return PressSimulator(
        args.host,
        args.port,
        speed=speed,
        cert_dir=None if args.insecure else args.cert_dir,
        users=users,
        insecure=args.insecure,
        trust_dir=args.trust_dir,
        faults=faults,
        seed=args.seed,
    )


async def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit code (0)."""
    sim = simulator_from_args(args)
    return await cli_common.serve(sim, "press", log, lambda: sim.server_cert_path)
