"""`pkgline sim|daemon|tui|demo`: the long-running processes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path

from mes.cli import session
from mes.cli.common import EXIT_OK, CliError, actor_from, database_url, engine_from
from mes.daemon.config import load_config
from mes.daemon.logs import configure_logging
from mes.daemon.runner import Daemon
from mes.domain.errors import PermissionDenied
from mes.services import users


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from simulators.oven import cli as oven_cli
    from simulators.plater import cli as plater_cli
    from simulators.press import cli as press_cli

    sim = sub.add_parser("sim", help="run a simulated tool (a real protocol server)")
    ssub = sim.add_subparsers(dest="sim_tool", required=True)
    oven_cli.add_parser(ssub)
    press_cli.add_parser(ssub)
    plater_cli.add_parser(ssub)

    d = sub.add_parser("daemon", help="own the tools of a line config and supervise their runs")
    d.add_argument("--config", type=Path, required=True)
    d.add_argument("--log-format", choices=["json", "console"], default="json")

    t = sub.add_parser("tui", help="the operator terminal UI")
    t.add_argument("--refresh", type=float, default=1.0, help="seconds between screen refreshes")

    demo = sub.add_parser("demo", help="run a simulated line: ovens + daemon + TUI on SQLite")
    demo.add_argument(
        "--headless", action="store_true", help="no TUI: run the lots, print a summary"
    )
    demo.add_argument("--lots", type=int, default=3, help="lots to create (1..50)")
    demo.add_argument("--speed", type=float, default=600.0, help="simulator clock speed (1..20000)")
    demo.add_argument("--ovens", type=int, default=2, help="simulated ovens (1..8)")
    demo.add_argument("--wafers", type=int, default=5, help="wafers per lot (1..25)")
    demo.add_argument("--workdir", type=Path, default=Path("var/demo"))
    demo.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="OVEN:SPEC",
        help="inject a fault into oven n, e.g. 2:heater_failure:zone=3,at=9000",
    )


def sim(args: argparse.Namespace) -> int:
    from simulators.oven import cli as oven_cli
    from simulators.plater import cli as plater_cli
    from simulators.press import cli as press_cli

    tools = {"press": press_cli, "plater": plater_cli}
    tool = tools.get(args.sim_tool, oven_cli)
    return int(asyncio.run(tool.run(args)) or 0)


def daemon(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    configure_logging(args.log_format)
    engine = engine_from(args, config.line.database_url)
    if not users.exists(engine, config.daemon.actor):
        users.bootstrap(engine, "admin", equipment=config.daemon.actor)
    daemon = Daemon(config, engine)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, daemon.stop)
        await daemon.run()

    asyncio.run(main())
    return EXIT_OK


def tui(args: argparse.Namespace) -> int:
    from mes.tui import run_tui

    engine = engine_from(args)
    try:
        actor: str | None = actor_from(args)  # a CLI session carries over
    except (CliError, PermissionDenied):
        actor = None  # no session: the TUI asks for user and password
    token = session.token_for(database_url(args)) if actor else None
    run_tui(engine, actor, refresh_s=args.refresh, token=token)
    return EXIT_OK


def demo(args: argparse.Namespace) -> int:
    from mes.cli.demo import run_demo

    return run_demo(args)
