"""A lot molded on the simulated press (OPC UA) and post-mold cured in the simulated oven.

The engine's degree of cure, computed from the temperatures each wafer saw,
is compared with the simulators' own EMC physics (written independently).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mes.services import ledger, lots, reads
from mes.services.tx import transaction
from mes.store.tables import Lot, as_utc, utcnow
from simulators.oven.server import OvenSimulator
from simulators.press.server import PressSimulator
from tests.helpers import recipe_v2
from tests.system.conftest import wait_for
from tests.system.press_line import WAFERS, mold, start_daemon, step_of

pytestmark = pytest.mark.system


@pytest.fixture
async def oven() -> AsyncIterator[OvenSimulator]:
    sim = OvenSimulator("127.0.0.1", 0, speed=3000.0, seed=5)
    await sim.start()
    yield sim
    await sim.stop()


class TestMoldAndCure:
    async def test_alpha_matches_the_simulators_through_mold_and_pmc(
        self,
        mold_line: Engine,
        press: PressSimulator,
        oven: OvenSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Each wafer's α after molding and after PMC agrees with the simulated EMC within ±0.02."""
        d = await start_daemon(mold_line, press, oven, tmp_path, monkeypatch)
        try:
            await mold(mold_line, "L1")
            assert step_of(mold_line, "L1") == ("PMC", False)
            truth = press.cycle_truth()
            states = ledger.cure_states(mold_line, "L1")
            assert len(truth) == WAFERS
            for wafer, cycle in zip(states, truth, strict=True):
                assert wafer.alpha == pytest.approx(cycle.alpha_end, abs=0.02), wafer.wafer_id
                assert wafer.tg_c == pytest.approx(cycle.tg_end_c, abs=3.0), wafer.wafer_id
                assert 0.80 <= (wafer.alpha or 0) < 0.95
            # The end of molding starts the recipe's Q-time clock for PMC (24 h).
            with transaction(mold_line) as s:
                lot = s.get(Lot, "L1")
                assert lot is not None and lot.qtime_step == "PMC"
                assert lot.qtime_deadline is not None
                left = as_utc(lot.qtime_deadline) - utcnow()
            assert timedelta(hours=23.9) < left <= timedelta(hours=24)
            oven.load_emc(sum(c.alpha_end for c in truth) / WAFERS)
            lots.track_in(mold_line, "op1", "L1", "OVEN-01")
            await wait_for(lambda: step_of(mold_line, "L1") != ("PMC", False), what="PMC to end")
        finally:
            await d.stop()
        assert step_of(mold_line, "L1") == ("GRIND", False)
        after = ledger.cure_states(mold_line, "L1")
        sim_alpha = oven.load_alpha()
        assert sim_alpha is not None
        for wafer in after:
            assert wafer.alpha == pytest.approx(sim_alpha, abs=0.02)
            assert (wafer.alpha or 0) >= 0.95
            assert wafer.cures == 2
            assert wafer.last_step == "PMC"

    async def test_cold_pmc_holds_with_alpha(
        self,
        mold_line: Engine,
        press: PressSimulator,
        oven: OvenSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A PMC run cold leaves α below the MUF target: the lot holds with the computed α."""
        recipe_v2(mold_line, tmp_path, "pmc-175", ("175.0", "140.0"))
        d = await start_daemon(mold_line, press, oven, tmp_path, monkeypatch)
        try:
            await mold(mold_line, "L2")
            lots.track_in(mold_line, "op1", "L2", "OVEN-01")
            await wait_for(lambda: step_of(mold_line, "L2") != ("PMC", False), what="PMC to end")
        finally:
            await d.stop()
        step, held = step_of(mold_line, "L2")
        assert (step, held) == ("PMC", True)
        row_lot = reads.lot(mold_line, "L2")
        assert row_lot is not None
        alpha = min(w.alpha or 0 for w in ledger.cure_states(mold_line, "L2"))
        assert alpha < 0.95
        assert f"lowest α = {alpha:.3f}" in (row_lot.hold_reason or "")


class TestPressFaults:
    @pytest.mark.parametrize(
        ("fault", "expected"),
        [
            ("platen_heater:side=top,at=150", "top platen at"),
            ("pressure_loss:cycle=2", "transfer pressure"),
            ("short_fill:cycle=1", "press reports short fill in cycle 1 (L3-W01)"),
        ],
    )
    async def test_fault_holds_lot_naming_what_and_where(
        self,
        mold_line: Engine,
        oven: OvenSimulator,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        fault: str,
        expected: str,
    ) -> None:
        """Each press fault raises an alarm and, by the hold-at-end policy, holds the lot."""
        sim = PressSimulator(
            "127.0.0.1",
            0,
            speed=100.0,
            cert_dir=tmp_path / "pki" / "server",
            users={"mes": "s3cret-press"},
            seed=6,
            faults=[fault],
        )
        await sim.start()
        try:
            d = await start_daemon(mold_line, sim, oven, tmp_path, monkeypatch)
            try:
                await mold(mold_line, "L3")
            finally:
                await d.stop()
        finally:
            await sim.stop()
        row = reads.lot(mold_line, "L3")
        assert row is not None
        assert (row.step, row.on_hold) == ("MOLD", True)
        assert expected in (row.hold_reason or "")
        assert any(expected in a.message for a in reads.alarms(mold_line, lot_id="L3"))
