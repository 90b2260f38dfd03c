"""`pkgline demo --headless`: the whole simulated line, as a user starts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system


def test_headless_demo_runs_a_lot_through_the_whole_route(tmp_path: Path) -> None:
    """The demo's simulators, daemon and scripted operator take a lot through the InFO/WMCM
    route: molded, cured (PMC and both PI cures), plated twice, manual steps; exit 0."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mes.cli",
            "demo",
            "--headless",
            "--lots",
            "1",
            "--wafers",
            "2",
            "--speed",
            "3000",
            "--ovens",
            "1",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "1/1 lots ended as expected" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("DEMO-001"))
    cells = row.split()
    assert cells[1:4] == ["SINGULATE", "finished", "6/6"], row
    assert {"PRESS-01", "OVEN-01", "PLATER-01"} <= set(cells), row
    thin, thick = (float(x) for x in cells[-2].split("-"))
    assert 4.6 <= thin <= thick <= 5.4, row  # the recipe's 5 µm ± 8 %
    assert (tmp_path / "daemon.log").stat().st_size > 0
    # The die map recorded at PLACE survived the route; TEST added its bin map.
    (db,) = tmp_path.glob("demo-*.db")
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "mes.cli",
            "--db",
            f"sqlite:///{db}",
            "wafer",
            "map",
            "DEMO-001-W01",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["111", "131", "111"]
