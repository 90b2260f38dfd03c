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
