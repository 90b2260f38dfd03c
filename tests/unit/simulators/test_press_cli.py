"""Arguments of `pkgline sim press` (checked before any socket is opened)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from simulators.errors import SimConfigError
from simulators.press import cli
from tests.unit.simulators import sim_args


def parse(*argv: str) -> argparse.Namespace:
    return sim_args.parse(cli, "press", *argv)


class TestArguments:
    def test_defaults(self) -> None:
        """Defaults: 127.0.0.1:4840, real time, certificates in var/press-sim/pki, secure."""
        args = parse()
        assert (args.host, args.port, args.speed, args.seed) == ("127.0.0.1", 4840, 1.0, 0)
        assert args.cert_dir == Path("var/press-sim/pki")
        assert (args.insecure, args.user, args.faults, args.trust_dir) == (False, None, [], None)

    def test_secure_simulator_from_env_password(self, password_env: str, tmp_path: Path) -> None:
        """--user with --password-env: one user whose password is the variable's value."""
        sim = cli.simulator_from_args(
            parse("--user", "mes", "--password-env", password_env, "--cert-dir", str(tmp_path))
        )
        assert sim._users == {"mes": "s3cret"}
        assert not sim.insecure
        assert sim.cert_dir == tmp_path

    def test_password_file_loses_its_trailing_newline(self, tmp_path: Path) -> None:
        """--password-file reads the file; a trailing newline is not part of the password."""
        secret = tmp_path / "pw"
        secret.write_text("s3cret\n")
        secret.chmod(0o600)
        sim = cli.simulator_from_args(parse("--user", "mes", "--password-file", str(secret)))
        assert sim._users == {"mes": "s3cret"}

    def test_insecure_needs_no_user_or_certificates(self) -> None:
        """--insecure: anonymous lab server, no certificate directory."""
        sim = cli.simulator_from_args(parse("--insecure"))
        assert sim.insecure and sim.cert_dir is None and sim.server_cert_path is None

    def test_repeatable_faults_are_parsed(self) -> None:
        """--fault may repeat; each spec becomes a fault of the simulator."""
        sim = cli.simulator_from_args(
            parse(
                "--insecure", "--fault", "short_fill:cycle=2", "--fault", "platen_heater:side=top"
            )
        )
        assert [str(f) for f in sim.plant.faults.faults] == [
            "short_fill:cycle=2",
            "platen_heater:side=top",
        ]

    def test_password_is_not_an_option(self) -> None:
        """There is no --password: a secret on the command line shows in `ps`."""
        with pytest.raises(SystemExit):
            parse("--user", "mes", "--password", "s3cret")

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            *sim_args.OPCUA_REFUSALS,
            (["--insecure", "--fault", "meltdown"], "--fault: bad fault spec 'meltdown'"),
            (
                ["--insecure", "--fault", "short_fill:cycle=30"],
                "--fault: bad fault spec 'short_fill:cycle=30': cycle must be an integer 1..25",
            ),
        ],
    )
    def test_bad_arguments_raise_one_line_config_errors(
        self, argv: list[str], message: str
    ) -> None:
        """A bad argument raises SimConfigError whose single line names the argument."""
        assert sim_args.refusal(cli, parse(*argv)).startswith(message)

    def test_empty_password_file_is_refused(self, tmp_path: Path) -> None:
        """An empty password file is an error naming --password-file."""
        secret = tmp_path / "pw"
        secret.write_text("\n")
        with pytest.raises(SimConfigError, match=r"--password-file: .* is empty"):
            cli.simulator_from_args(parse("--user", "mes", "--password-file", str(secret)))

    def test_trust_dir_must_exist(self, password_env: str, tmp_path: Path) -> None:
        """--trust-dir naming no directory is an error naming --trust-dir."""
        argv = ["--user", "mes", "--password-env", password_env]
        argv += ["--trust-dir", str(tmp_path / "missing")]
        with pytest.raises(SimConfigError, match=r"--trust-dir: .* is not a directory"):
            cli.simulator_from_args(parse(*argv))
