"""Arguments of `pkgline sim plater` (checked before any socket is opened)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mes.cli.main import main
from simulators.errors import SimConfigError
from simulators.plater import cli
from tests.unit.simulators import sim_args


def parse(*argv: str) -> argparse.Namespace:
    return sim_args.parse(cli, "plater", *argv)


class TestArguments:
    def test_defaults(self) -> None:
        """Defaults: 127.0.0.1:4841, real time, certificates in var/plater-sim/pki, secure,
        a fresh bath (0 A·h), no faults, seed 0."""
        args = parse()
        assert (args.host, args.port, args.speed, args.seed) == ("127.0.0.1", 4841, 1.0, 0)
        assert args.cert_dir == Path("var/plater-sim/pki")
        assert (args.insecure, args.user, args.faults, args.trust_dir) == (False, None, [], None)
        assert args.amp_hours == 0.0

    def test_secure_simulator_from_env_password(self, password_env: str, tmp_path: Path) -> None:
        """--user with --password-env: one user whose password is the variable's value."""
        sim = cli.simulator_from_args(
            parse("--user", "mes", "--password-env", password_env, "--cert-dir", str(tmp_path))
        )
        assert sim._users == {"mes": "s3cret"}
        assert not sim.insecure
        assert sim.cert_dir == tmp_path
        assert sim.plant.amp_hours == 0.0 and sim.cells == 2

    def test_insecure_needs_no_user_or_certificates(self) -> None:
        """--insecure: anonymous lab server, no certificate directory, no users."""
        sim = cli.simulator_from_args(parse("--insecure"))
        assert sim.insecure and sim.cert_dir is None and sim.server_cert_path is None
        assert sim._users == {}

    @pytest.mark.parametrize("amp_hours", ["0", "120.5", "1e4"])
    def test_amp_hours_is_the_bath_age_at_start(self, amp_hours: str) -> None:
        """--amp-hours sets the bath's age (A·h) the simulated plant starts with."""
        sim = cli.simulator_from_args(parse("--insecure", "--amp-hours", amp_hours))
        assert sim.plant.amp_hours == float(amp_hours)

    def test_cells(self) -> None:
        """--cells sets how many cells the tool has (2 by default); a fault may name any."""
        assert cli.simulator_from_args(parse("--insecure")).cells == 2
        sim = cli.simulator_from_args(
            parse("--insecure", "--cells", "3", "--fault", "contact:cell=3")
        )
        assert sim.cells == 3 and len(sim.plant.cells) == 3

    @pytest.mark.parametrize("cells", ["0", "65", "-1"])
    def test_cells_out_of_range(self, cells: str) -> None:
        with pytest.raises(SimConfigError, match=f"--cells must be 1..64, got {cells}"):
            cli.simulator_from_args(parse("--insecure", "--cells", cells))

    def test_repeatable_faults_are_parsed(self) -> None:
        """--fault may repeat; each spec becomes a fault; `at=` arms it, without it is on."""
        sim = cli.simulator_from_args(
            parse(
                "--insecure",
                "--fault",
                "contact:cell=2,at=30",
                "--fault",
                "rectifier_trip:cell=1",
                "--fault",
                "bath_overtemp",
            )
        )
        faults = sim.plant.faults
        assert [str(f) for f in faults.faults] == [
            "contact:cell=2,at=30",
            "rectifier_trip:cell=1",
            "bath_overtemp",
        ]
        assert [str(f) for f in faults.active] == ["rectifier_trip:cell=1", "bath_overtemp"]

    def test_password_is_not_an_option(self) -> None:
        """There is no --password: a secret on the command line shows in `ps`."""
        with pytest.raises(SystemExit):
            parse("--user", "mes", "--password", "s3cret")

    @pytest.mark.parametrize("argv", [["--amp-hours", "abc"], ["--port", "x"], ["--speed", "y"]])
    def test_non_numbers_are_usage_errors(
        self, argv: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A non-number for a numeric option is argparse's usage error (exit 2)."""
        with pytest.raises(SystemExit) as info:
            parse("--insecure", *argv)
        assert info.value.code == 2
        assert f"argument {argv[0]}: invalid" in capsys.readouterr().err

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            *sim_args.OPCUA_REFUSALS,
            (["--insecure", "--amp-hours", "-1"], "--amp-hours must be a number ≥ 0, got -1.0"),
            (["--insecure", "--amp-hours", "-0.001"], "--amp-hours must be a number ≥ 0"),
            (["--insecure", "--amp-hours", "nan"], "--amp-hours must be a number ≥ 0, got nan"),
            (["--insecure", "--amp-hours", "inf"], "--amp-hours must be a number ≥ 0, got inf"),
            (["--insecure", "--amp-hours=-inf"], "--amp-hours must be a number ≥ 0, got -inf"),
            (
                ["--insecure", "--fault", "meltdown"],
                "--fault: bad fault spec 'meltdown': unknown fault 'meltdown'",
            ),
            (["--insecure", "--fault", "contact"], "--fault: bad fault spec 'contact': cell="),
            (
                ["--insecure", "--fault", "contact:cell=0"],
                "--fault: bad fault spec 'contact:cell=0': cell must be an integer 1..64",
            ),
            (
                ["--insecure", "--fault", "rectifier_trip:cell=1,at=-2"],
                "--fault: bad fault spec 'rectifier_trip:cell=1,at=-2': at must be a time",
            ),
            (
                ["--insecure", "--fault", "bath_overtemp:cell=1"],
                "--fault: bad fault spec 'bath_overtemp:cell=1': bath_overtemp takes at",
            ),
        ],
    )
    def test_bad_arguments_raise_one_line_config_errors(
        self, argv: list[str], message: str
    ) -> None:
        """A bad argument raises SimConfigError whose single line names the argument."""
        assert sim_args.refusal(cli, parse(*argv)).startswith(message)

    def test_fault_on_a_cell_the_tool_lacks_names_fault(self) -> None:
        """The simulated tool has 2 cells: cell=3 is refused, naming --fault."""
        with pytest.raises(SimConfigError) as info:
            cli.simulator_from_args(parse("--insecure", "--fault", "contact:cell=3"))
        assert str(info.value).startswith("--fault: ")

    def test_fault_on_a_cell_the_tool_lacks_is_refused(self) -> None:
        """Whatever its wording, cell=3 on the 2-cell tool is a one-line SimConfigError."""
        with pytest.raises(SimConfigError) as info:
            cli.simulator_from_args(parse("--insecure", "--fault", "contact:cell=3"))
        assert "cell must be 1..2 on this tool" in str(info.value)
        assert "\n" not in str(info.value)


class TestThroughPkgline:
    """`pkgline sim plater` itself: a bad argument is one line on stderr and exit 2."""

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--amp-hours", "-5"], "pkgline: --amp-hours must be a number ≥ 0, got -5.0\n"),
            (["--amp-hours", "inf"], "pkgline: --amp-hours must be a number ≥ 0, got inf\n"),
            (["--speed", "0"], "pkgline: --speed must be a number > 0, got 0.0\n"),
            (["--fault", "meltdown"], "pkgline: --fault: bad fault spec 'meltdown'"),
        ],
    )
    def test_bad_argument_exit_2_one_line(
        self, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["sim", "plater", "--insecure", *argv]) == 2
        captured = capsys.readouterr()
        assert captured.err.startswith(message)
        assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
        assert captured.out == ""

    def test_amp_hours_not_a_number_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as info:
            main(["sim", "plater", "--insecure", "--amp-hours", "abc"])
        assert info.value.code == 2
        assert "argument --amp-hours: invalid float value: 'abc'" in capsys.readouterr().err
