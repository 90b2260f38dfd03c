"""`pkgline sim <tool>` arguments in tests: parse them and read a refusal, no sockets."""

from __future__ import annotations

import argparse
from types import ModuleType

import pytest

from simulators.errors import SimConfigError


def parse(cli: ModuleType, verb: str, *argv: str) -> argparse.Namespace:
    """`argv` as `pkgline sim <verb>` parses it, with `cli.add_parser` as the CLI wires it."""
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    return parser.parse_args([verb, *argv])


def refusal(cli: ModuleType, args: argparse.Namespace) -> str:
    """The one-line SimConfigError `cli.simulator_from_args` raises for `args`."""
    with pytest.raises(SimConfigError) as info:
        cli.simulator_from_args(args)
    message = str(info.value)
    assert "\n" not in message
    return message


# What every OPC UA simulator (press, plater) refuses through simulators.cli_common: the
# clock and port, and the security options. (argv, start of the one-line message)
OPCUA_REFUSALS: list[tuple[list[str], str]] = [
    (["--insecure", "--speed", "0"], "--speed must be a number > 0, got 0.0"),
    (["--insecure", "--speed", "-2"], "--speed must be a number > 0"),
    (["--insecure", "--speed", "nan"], "--speed must be a number > 0"),
    (["--insecure", "--speed", "inf"], "--speed must be a number > 0"),
    (["--insecure", "--port", "70000"], "--port must be 0..65535, got 70000"),
    (["--insecure", "--port", "-1"], "--port must be 0..65535, got -1"),
    ([], "--user is required (or --insecure for an open lab server)"),
    (["--user", "mes"], "--password-env or --password-file is required with --user"),
    (
        ["--user", "mes", "--password-env", "PKGLINE_TEST_UNSET_VAR"],
        "--password-env: environment variable PKGLINE_TEST_UNSET_VAR is not set",
    ),
    (
        ["--user", "mes", "--password-file", "/nonexistent/pw"],
        "--password-file: cannot read /nonexistent/pw",
    ),
    (["--insecure", "--user", "mes"], "--user/--password-*: --insecure serves anonymous"),
    (["--insecure", "--trust-dir", "/tmp"], "--trust-dir: --insecure takes no client"),
]
