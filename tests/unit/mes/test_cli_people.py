"""The CLI as people use it: log in, change passwords and roles, be refused, trace wafers."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mes.cli.main import main
from mes.domain import e142
from tests.helpers import Cli

REPO = Path(__file__).resolve().parents[3]
PMC = REPO / "recipes" / "library" / "pmc-175.toml"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    cli = Cli(["--db", f"sqlite:///{tmp_path / 'people.db'}"], monkeypatch)
    cli.init()
    cli.add_user("op1", "operator")
    cli.add_user("eng1", "engineer")
    return cli


def out_json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


class TestLogin:
    def test_login_saves_a_private_session_and_whoami_uses_it(
        self, cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        cli.stdin("op1-pass-12")
        assert main([*cli.db, "login", "op1", "--password-stdin"]) == 0
        session_file = tmp_path / "sessions.json"
        assert session_file.stat().st_mode & 0o077 == 0  # only the user can read it
        assert "op1-pass-12" not in session_file.read_text()
        capsys.readouterr()
        assert main([*cli.db, "--json", "whoami"]) == 0
        assert out_json(capsys) == {"user": "op1", "roles": "operator"}
        assert main([*cli.db, "logout"]) == 0
        assert main([*cli.db, "whoami"]) == 2
        assert "not logged in" in capsys.readouterr().err

    def test_wrong_password_exit_2_no_session(
        self, cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        cli.stdin("guess-guess")
        assert main([*cli.db, "login", "op1", "--password-stdin"]) == 2
        assert "unknown user or wrong password" in capsys.readouterr().err
        assert not (tmp_path / "sessions.json").exists()

    def test_passwd_own_then_old_password_fails(self, cli: Cli) -> None:
        cli.login("op1")
        cli.stdin("op1-pass-12", "op1-new-pass-3")
        assert cli("op1", "user", "passwd", "--password-stdin") == 0
        cli.stdin("op1-pass-12")
        assert main([*cli.db, "login", "op1", "--password-stdin"]) == 2
        assert cli.login("op1", "op1-new-pass-3")

    def test_roles_by_admin(self, cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
        assert cli("admin", "user", "roles", "op1", "operator,engineer") == 0
        capsys.readouterr()
        assert main([*cli.db, "--json", "user", "list"]) == 0
        rows = {u["name"]: u for u in out_json(capsys)}  # type: ignore[union-attr]
        assert rows["op1"]["roles"] == "engineer,operator" and rows["op1"]["login"]
        assert rows["equipment"]["login"] is False


class TestRefusals:
    @pytest.mark.parametrize(
        ("argv", "permission"),
        [
            (["recipe", "approve", "pmc-175", "1"], "recipe.approve"),
            (["lot", "release", "L1", "--reason", "fine"], "lot.release_engineering"),
            (["user", "add", "bob", "--roles", "operator", "--password-stdin"], "user.manage"),
            (["user", "roles", "op1", "admin"], "user.manage"),
        ],
    )
    def test_operator_refused_and_audited(
        self,
        cli: Cli,
        capsys: pytest.CaptureFixture[str],
        argv: list[str],
        permission: str,
    ) -> None:
        assert cli("eng1", "recipe", "import", str(PMC)) == 0
        assert cli("eng1", "route", "import", str(REPO / "deploy/routes/fowlp-cure.toml")) == 0
        assert cli("op1", "lot", "create", "L1", "--route", "fowlp-cure", "--wafers", "3") == 0
        assert cli("eng1", "lot", "hold", "L1", "--code", "engineering", "--reason", "x-ray") == 0
        cli.stdin("bob-pass-123")
        assert cli("op1", *argv) == 2
        assert f"op1 (operator) may not {permission}" in capsys.readouterr().err
        assert main([*cli.db, "--json", "audit", "list", "--limit", "1"]) == 0
        last = out_json(capsys)[0]  # type: ignore[index]
        assert (last["actor"], last["action"], last["entity_id"]) == ("op1", "denied", permission)

    def test_audit_verify_detects_a_row_edited_in_the_database(
        self, cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main([*cli.db, "audit", "verify"]) == 0
        con = sqlite3.connect(tmp_path / "people.db")
        con.execute('UPDATE audit SET after_json = \'{"roles":"admin"}\' WHERE seq = 2')
        con.commit()
        con.close()
        capsys.readouterr()
        assert main([*cli.db, "audit", "verify"]) == 1
        assert "seq 2: content does not match its hash" in capsys.readouterr().out


class TestWaferVerbs:
    def test_split_map_merge_history(
        self, cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli("eng1", "route", "import", str(REPO / "deploy/routes/fowlp-cure.toml")) == 0
        assert cli("op1", "lot", "create", "L1", "--route", "fowlp-cure", "--wafers", "3") == 0
        dies = tmp_path / "dies.csv"
        dies.write_text(
            "wafer,x,y,source_wafer\n"
            + "".join(f"L1-W0{n},{x},0,DW-{x}\n" for n in (1, 2, 3) for x in (0, 1))
        )
        assert cli("op1", "wafer", "diemap", str(dies)) == 0
        assert cli("op1", "lot", "split", "L1", "--wafer", "3", "--reason", "edge chip") == 0
        assert cli("op1", "lot", "merge", "L1", "L1.1", "--reason", "chip within spec") == 0
        capsys.readouterr()
        assert main([*cli.db, "wafer", "history", "L1-W03"]) == 0
        out = capsys.readouterr().out
        assert "lots: L1 → L1.1 → L1" in out and "DW-0 (1 dies), DW-1 (1 dies)" in out
        assert "status active  in lot L1 at MOLD (waiting)" in out and "holds: none" in out
        hold = ["lot", "hold", "L1", "--wafer", "3", "--code", "quality", "--reason", "void"]
        assert cli("op1", *hold) == 0
        capsys.readouterr()
        assert main([*cli.db, "wafer", "history", "L1-W03"]) == 0
        assert "holds: [quality] void (wafer hold)" in capsys.readouterr().out
        assert main([*cli.db, "wafer", "history", "L1-W01"]) == 0
        assert "holds: none" in capsys.readouterr().out
        assert main([*cli.db, "lot", "genealogy", "L1.1"]) == 0
        out = capsys.readouterr().out
        assert "split" in out and "L1 → L1.1" in out and "merge" in out
        assert main([*cli.db, "wafer", "trace", "DW-1"]) == 0
        assert capsys.readouterr().out.count("L1-W0") == 3

    def test_e142_export(
        self, cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`wafer map --e142 FILE` writes the bin map as E142 XML; a wafer without a die map
        or an unwritable file is a clear error."""
        assert cli("eng1", "route", "import", str(REPO / "deploy/routes/fowlp-cure.toml")) == 0
        assert cli("op1", "lot", "create", "L1", "--route", "fowlp-cure", "--wafers", "2") == 0
        dies = tmp_path / "dies.csv"
        dies.write_text("wafer,x,y,source_wafer\nL1-W01,0,0,DW\nL1-W01,1,0,DW\n")
        bins = tmp_path / "bins.csv"
        bins.write_text("wafer,x,y,bin\nL1-W01,0,0,1\nL1-W01,1,0,7\n")
        assert cli("op1", "wafer", "diemap", str(dies)) == 0
        assert cli("op1", "wafer", "binmap", str(bins)) == 0
        out = tmp_path / "L1-W01.xml"
        assert main([*cli.db, "wafer", "map", "L1-W01", "--e142", str(out)]) == 0
        codes = ET.parse(out).getroot().find(".//e:BinCode", {"e": e142.NAMESPACE})
        assert codes is not None and codes.text == "001007"
        capsys.readouterr()
        assert main([*cli.db, "wafer", "map", "L1-W02", "--e142", "-"]) == 2
        assert "L1-W02 has no die map to export" in capsys.readouterr().err
        assert main([*cli.db, "wafer", "map", "L1-W01", "--e142", str(tmp_path / "no/x.xml")]) == 2
        assert "No such file or directory" in capsys.readouterr().err

    def test_e142_import(
        self, cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`wafer binmap` takes an E142 map as well as the CSV: a map exported from one
        wafer, its bins changed by the tester, records those bins; a bad one changes
        nothing and says why."""
        assert cli("eng1", "route", "import", str(REPO / "deploy/routes/fowlp-cure.toml")) == 0
        assert cli("op1", "lot", "create", "L1", "--route", "fowlp-cure", "--wafers", "1") == 0
        dies = tmp_path / "dies.csv"
        dies.write_text("wafer,x,y,source_wafer\nL1-W01,3,5,DW\nL1-W01,4,5,DW\nL1-W01,3,6,DW\n")
        assert cli("op1", "wafer", "diemap", str(dies)) == 0
        exported = tmp_path / "untested.xml"
        assert main([*cli.db, "wafer", "map", "L1-W01", "--e142", str(exported)]) == 0
        tested = tmp_path / "tested.xml"
        # Top row (y = 6): (3, 6) bin 2; bottom row (y = 5): (3, 5) bin 1, (4, 5) bin 9.
        text = exported.read_text().replace("254255", "002255").replace("254254", "001009")
        tested.write_text("\ufeff" + text, encoding="utf-8")  # with the BOM some tools write
        capsys.readouterr()
        assert cli("op1", "wafer", "binmap", str(tested)) == 0
        assert "L1-W01: bin 1: 1, bin 2: 1, bin 9: 1" in capsys.readouterr().out
        assert main([*cli.db, "--json", "wafer", "map", "L1-W01"]) == 0
        dies_out = json.loads(capsys.readouterr().out)
        assert {(d["x"], d["y"]): d["bin"] for d in dies_out} == {(3, 5): 1, (4, 5): 9, (3, 6): 2}

        tested.write_text(text.replace("001009", "001"))
        assert cli("op1", "wafer", "binmap", str(tested)) == 2
        err = capsys.readouterr().err
        assert "SubstrateMap L1-W01: BinCode row 2 has 3 characters; 2 dies × 3 = 6" in err
        assert main([*cli.db, "--json", "wafer", "map", "L1-W01"]) == 0
        assert {d["bin"] for d in json.loads(capsys.readouterr().out)} == {1, 2, 9}
        tested.write_bytes(text.encode("utf-16"))
        assert cli("op1", "wafer", "binmap", str(tested)) == 2
        assert f"{tested}: not UTF-8 text (byte 0: invalid start byte)" in capsys.readouterr().err

    def test_bad_die_map_file_changes_nothing(
        self, cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli("eng1", "route", "import", str(REPO / "deploy/routes/fowlp-cure.toml")) == 0
        assert cli("op1", "lot", "create", "L1", "--route", "fowlp-cure", "--wafers", "1") == 0
        bad = tmp_path / "bad.csv"
        bad.write_text("wafer,x,y,source_wafer\nL1-W01,0,0,DW\nL1-W01,1000,0,DW\n")
        assert cli("op1", "wafer", "diemap", str(bad)) == 2
        assert "bad.csv:3: x = 1000: must be between 0 and 999" in capsys.readouterr().err
        assert main([*cli.db, "wafer", "map", "L1-W01"]) == 0
        assert "no die map" in capsys.readouterr().out

    def test_anchor_detects_records_removed_from_the_end(
        self, cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Deleting the newest records leaves a valid chain; the anchor kept outside catches it."""
        capsys.readouterr()
        assert main([*cli.db, "--json", "audit", "verify"]) == 0
        anchor = out_json(capsys)["anchor"]  # type: ignore[index]
        assert main([*cli.db, "audit", "verify", "--anchor", anchor]) == 0
        seq = int(anchor.split(":")[0])
        con = sqlite3.connect(tmp_path / "people.db")
        con.execute("DELETE FROM audit WHERE seq >= ?", (seq,))
        con.commit()
        con.close()
        capsys.readouterr()
        assert main([*cli.db, "audit", "verify"]) == 0  # the shorter chain is self-consistent
        assert main([*cli.db, "audit", "verify", "--anchor", anchor]) == 1
        assert f"seq {seq}: the anchored record is gone" in capsys.readouterr().out
        assert main([*cli.db, "audit", "verify", "--anchor", "12:abc"]) == 2
        assert "expected SEQ:HASH" in capsys.readouterr().err
