"""`pkgline demo --headless`: the whole simulated line, as a user starts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system


def test_headless_demo_runs_lots_through_mold_and_pmc(tmp_path: Path) -> None:
    """The demo's simulators, daemon and operator move a lot through MOLD and PMC; exit 0."""
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
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "1/1 lots ended as expected" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("DEMO-001"))
    assert "GRIND" in row and "PRESS-01:tracked_out" in row and "OVEN-01:tracked_out" in row
    assert (tmp_path / "daemon.log").stat().st_size > 0
