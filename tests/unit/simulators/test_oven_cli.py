"""Arguments of `pkgline sim oven` (checked before any socket is opened)."""

from __future__ import annotations

import argparse

import pytest

from simulators.oven import cli
from tests.unit.simulators import sim_args


def parse(*argv: str) -> argparse.Namespace:
    return sim_args.parse(cli, "oven", *argv)


class TestArguments:
    def test_defaults(self) -> None:
        """Defaults: 127.0.0.1:5020, real time, 4 zones, no faults, seed 0."""
        args = parse()
        assert (args.host, args.port, args.speed, args.zones, args.faults, args.seed) == (
            "127.0.0.1", 5020, 1.0, 4, [], 0,
        )  # fmt: skip

    def test_repeatable_faults_are_parsed(self) -> None:
        """--fault may repeat; each spec becomes a fault of the simulator."""
        sim = cli.simulator_from_args(
            parse("--fault", "door_open", "--fault", "heater_failure:zone=2,at=60")
        )
        assert [str(f) for f in sim.plant.faults.faults] == [
            "door_open",
            "heater_failure:zone=2,at=60",
        ]

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--speed", "0"], "--speed must be a number > 0, got 0.0"),
            (["--speed", "-3"], "--speed must be a number > 0"),
            (["--speed", "nan"], "--speed must be a number > 0"),
            (["--port", "70000"], "--port must be 0..65535, got 70000"),
            (["--port", "-1"], "--port must be 0..65535"),
            (["--zones", "9"], "--zones must be 1..8, got 9"),
            (
                ["--fault", "heater_failure:zone=7"],
                "--fault: bad fault spec 'heater_failure:zone=7'",
            ),
            (["--fault", "meltdown"], "--fault: bad fault spec 'meltdown': unknown fault"),
        ],
    )
    def test_bad_arguments_raise_one_line_config_errors(
        self, argv: list[str], message: str
    ) -> None:
        """A bad argument raises SimConfigError whose single line names the argument."""
        assert sim_args.refusal(cli, parse(*argv)).startswith(message)
