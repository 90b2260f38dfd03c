"""What the `pkgline sim <tool>` verbs share: options, their checks, serving until a signal.

The password never goes on the command line (where `ps` shows it): it comes
from an environment variable or a file.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import stat
import sys
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import structlog

from simulators.errors import SimConfigError
from simulators.fault_spec import FaultSpecError

F = TypeVar("F")


def add_network_options(parser: argparse.ArgumentParser, default_port: int) -> None:
    """--host, --port, --speed."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=default_port, help="TCP port (0: any free)")
    parser.add_argument("--speed", type=float, default=1.0, help="sim seconds per wall second")


def add_security_options(parser: argparse.ArgumentParser, default_cert_dir: Path) -> None:
    """The OPC UA servers' --cert-dir, --trust-dir, --user, --password-*, --insecure."""
    parser.add_argument(
        "--cert-dir",
        type=Path,
        default=default_cert_dir,
        metavar="DIR",
        help="server certificate and key: made here on first start, reused after "
        f"(default {default_cert_dir})",
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


def add_fault_options(parser: argparse.ArgumentParser, fault_help: str) -> None:
    """--fault (repeatable) and --seed."""
    parser.add_argument(
        "--fault",
        dest="faults",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"fault to inject, repeatable: {fault_help}",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the measurement noise")


def check_speed_and_port(args: argparse.Namespace) -> float:
    """--speed as a float; SimConfigError when it or --port is out of range."""
    speed = float(args.speed)
    if not (math.isfinite(speed) and speed > 0):
        raise SimConfigError(f"--speed must be a number > 0, got {args.speed}")
    if not 0 <= args.port <= 65535:
        raise SimConfigError(f"--port must be 0..65535, got {args.port}")
    return speed


def users_from_args(args: argparse.Namespace, log: Any) -> dict[str, str]:
    """The users the security options give (none when --insecure); checks them."""
    users: dict[str, str] = {}
    if args.insecure:
        if args.user or args.password_env or args.password_file:
            raise SimConfigError("--user/--password-*: --insecure serves anonymous clients only")
        if args.trust_dir is not None:
            raise SimConfigError("--trust-dir: --insecure takes no client certificates")
    else:
        if not args.user:
            raise SimConfigError("--user is required (or --insecure for an open lab server)")
        users[args.user] = password(args, log)
        if args.trust_dir is not None and not args.trust_dir.is_dir():
            raise SimConfigError(f"--trust-dir: {args.trust_dir} is not a directory")
        if args.cert_dir.exists() and not args.cert_dir.is_dir():
            raise SimConfigError(f"--cert-dir: {args.cert_dir} is not a directory")
    return users


def password(args: argparse.Namespace, log: Any) -> str:
    """The password from --password-env or --password-file."""
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


def parse_faults(specs: Iterable[str], parse: Callable[[str], F]) -> list[F]:
    """Each --fault spec parsed; SimConfigError naming --fault for a bad one."""
    faults: list[F] = []
    for spec in specs:
        try:
            faults.append(parse(spec))
        except FaultSpecError as exc:
            raise SimConfigError(f"--fault: {exc}") from None
    return faults


async def serve(
    sim: AbstractAsyncContextManager[Any],
    name: str,
    log: Any,
    cert_path: Callable[[], Path | None] = lambda: None,
) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit code (0)."""
    if not structlog.is_configured():
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        async with sim:
            cert = cert_path()
            if cert is not None:
                log.info("clients pin this server certificate", cert=str(cert))
            await stop.wait()
            stopping = f"{name} simulator stopping"
            log.info(stopping, reason="signal")
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    return 0
