"""The `pkgline` command: clear errors, exit codes, and nothing changed on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.core.clock import MonotonicClock
from mes.cli.main import main
from mes.daemon.config import load_config
from mes.daemon.tools import build_plater
from tests.helpers import Cli

REPO = Path(__file__).resolve().parents[3]
PMC = REPO / "recipes" / "library" / "pmc-175.toml"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A fresh SQLite line set up through the CLI: admin, op1, eng1, pmc-175, fowlp-cure."""
    cli = Cli(["--db", f"sqlite:///{tmp_path / 'cli.db'}"], monkeypatch)
    cli.init()
    cli.add_user("op1", "operator")
    cli.add_user("eng1", "engineer")
    assert cli("eng1", "recipe", "import", str(PMC)) == 0
    assert cli("eng1", "recipe", "approve", "pmc-175", "1") == 0
    assert cli("eng1", "route", "import", str(REPO / "deploy" / "routes" / "fowlp-cure.toml")) == 0
    return cli


def audit_count(cli: Cli, capsys: pytest.CaptureFixture[str]) -> int:
    capsys.readouterr()
    assert main([*cli.db, "--json", "audit", "list", "--limit", "100000"]) == 0
    import json

    return len(json.loads(capsys.readouterr().out))


class TestLotCommands:
    def test_create_track_in_out_hold_release(
        self, cli: Cli, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The lot verbs move a lot and report it in words; list shows its step and hold."""
        assert cli("op1", "lot", "create", "L1", "--route", "fowlp-cure", "--wafers", "12") == 0
        assert cli("op1", "lot", "track-in", "L1") == 0
        assert cli("op1", "lot", "track-out", "L1") == 0
        assert cli("op1", "lot", "hold", "L1", "--reason", "scratch on wafer 3") == 0
        capsys.readouterr()
        assert cli("op1", "lot", "list") == 0
        out = capsys.readouterr().out
        assert "PMC (2/6)" in out and "scratch on wafer 3" in out
        assert cli("op1", "lot", "release", "L1", "--reason", "inspected") == 0
        capsys.readouterr()
        assert cli("op1", "lot", "show", "L1") == 0
        out = capsys.readouterr().out
        assert "ON HOLD" not in out and "inspected" in out

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["lot", "create", "L1", "--route", "fowlp-cure", "--wafers", "26"], "wafers = 26"),
            (["lot", "create", "L1", "--route", "nope", "--wafers", "5"], "route 'nope'"),
            (["lot", "track-in", "L404"], "lot 'L404' does not exist"),
            (["lot", "hold", "L404", "--reason", "x"], "lot 'L404' does not exist"),
            (["recipe", "approve", "pmc-175", "1"], "op1 (operator) may not recipe.approve"),
            (["user", "add", "bob", "--roles", "operator"], "may not user.manage"),
            (["tool", "set-state", "OVEN-01", "productive", "--reason", "x"], "set by runs"),
        ],
    )
    def test_bad_input_exit_2_and_nothing_changes(
        self, cli: Cli, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
    ) -> None:
        """Refused actions print one clear line on stderr, exit 2, and record no change."""
        cli.login("op1")
        before = audit_count(cli, capsys)
        assert cli("op1", *argv) == 2
        err = capsys.readouterr().err
        assert message in err
        assert "Traceback" not in err
        after = audit_count(cli, capsys)
        # a refused permission is itself audited; nothing else is written
        assert after - before == (1 if "may not" in message else 0)

    def test_not_logged_in(self, cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
        """Reading needs no login; a change without a session says how to log in."""
        assert main([*cli.db, "lot", "list"]) == 0
        assert main([*cli.db, "lot", "create", "L9", "--route", "fowlp-cure"]) == 2
        assert "not logged in to this database: run 'pkgline login NAME'" in capsys.readouterr().err


class TestRecipeCommands:
    def test_check_and_show(self, capsys: pytest.CaptureFixture[str]) -> None:
        """check says ok; show describes the segments and draws the profile."""
        assert main(["recipe", "check", str(PMC)]) == 0
        assert "ok (pmc-175 v1" in capsys.readouterr().out
        assert main(["recipe", "show", str(PMC)]) == 0
        out = capsys.readouterr().out
        assert "soak" in out and "°C" in out

    def test_check_bad_file_names_file_field_limit(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A ramp above the recipe's limit fails check with file, field and limit; exit 2."""
        bad = tmp_path / "bad.toml"
        bad.write_text(PMC.read_text().replace("rate_c_per_min = 2.5", "rate_c_per_min = 4.0"))
        assert main(["recipe", "check", str(bad)]) == 2
        err = capsys.readouterr().err
        assert "bad.toml" in err and "segments[0].rate_c_per_min" in err and "3" in err

    def test_check_against_tool_maximum(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A recipe asking more than the named tool can do is refused."""
        assert main(["recipe", "check", str(PMC), "--tool-max-ramp", "2"]) == 2
        assert "tool's maximum 2" in capsys.readouterr().err

    def test_changed_recipe_with_same_version_refused(
        self, cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Approved versions are immutable: other content under the same version is refused."""
        changed = tmp_path / "pmc.toml"
        changed.write_text(PMC.read_text().replace("duration_min = 240.0", "duration_min = 200.0"))
        assert cli("eng1", "recipe", "import", str(changed)) == 2
        assert "versions are immutable" in capsys.readouterr().err


class TestDaemonConfig:
    @pytest.mark.parametrize(
        ("edit", "message"),
        [
            (("port = 5020", "port = 70000"), "tools[0].port"),
            (
                ("poll_interval_s = 0.5", "poll_intervall_s = 0.5"),
                "daemon.poll_intervall_s: unknown key",
            ),
            (('type = "cure_oven"', 'type = "toaster"'), "tools[0].type"),
            (("cells = 2", "cells = 0"), "tools[3].cells"),
            (("cells = 2", "cells = 65"), "tools[3].cells"),
            (
                ("unit = 1\n", "unit = 1\ncells = 2\n"),
                "tools[0]: cells: only a plating_tool has it, not a cure_oven",
            ),
        ],
    )
    def test_bad_config(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        edit: tuple[str, str],
        message: str,
    ) -> None:
        """A bad line config is refused before anything starts, naming file and field."""
        cfg = tmp_path / "line.toml"
        text = (REPO / "deploy" / "line.toml").read_text()
        assert edit[0] in text
        cfg.write_text(text.replace(edit[0], edit[1], 1))
        assert main(["--db", f"sqlite:///{tmp_path / 'x.db'}", "daemon", "--config", str(cfg)]) == 2
        err = capsys.readouterr().err
        assert "line.toml" in err and message in err
        assert not (tmp_path / "x.db").exists()

    def test_shipped_config_builds_each_tool_with_its_cells(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """deploy/line.toml loads; its plater is built with the cells it names."""
        config = load_config(REPO / "deploy" / "line.toml")
        plater = next(t for t in config.tools if t.type == "plating_tool")
        monkeypatch.setenv("PKGLINE_PLATER_PASSWORD", "x")
        assert build_plater(plater.model_copy(update={"cells": 3}), MonotonicClock()).cells == 3
        assert build_plater(plater.model_copy(update={"cells": None}), MonotonicClock()).cells == 2

    def test_demo_arguments_checked(self, capsys: pytest.CaptureFixture[str]) -> None:
        """demo refuses out-of-range arguments before starting anything."""
        assert main(["demo", "--headless", "--lots", "0"]) == 2
        assert "--lots 0" in capsys.readouterr().err
        assert main(["demo", "--headless", "--speed", "0"]) == 2
        assert "--speed 0" in capsys.readouterr().err
