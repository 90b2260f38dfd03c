"""The oven's EMC load: the simulator's truth for post-mold cure (no sockets)."""

from __future__ import annotations

import pytest

from drivers.cure_oven import registers as reg
from simulators.errors import SimConfigError
from simulators.oven.plant import OvenPlant
from simulators.oven.program import ProgramSegment, SegmentKind
from simulators.physics import emc

PMC_4H = [  # DOMAIN.md: 175 °C post-mold cure; 3 °C/min ramps (warpage limit), unload < 50 °C
    ProgramSegment(SegmentKind.RAMP, 175.0, rate_c_per_min=3.0),
    ProgramSegment(SegmentKind.SOAK, 175.0, duration_s=4 * 3600.0),
    ProgramSegment(SegmentKind.RAMP, 50.0, rate_c_per_min=3.0),
]
PMC_S = 3000 + 4 * 3600 + 2500
MOLDED = 0.856  # α of a wafer out of the press (10 s fill + 90 s cure at 175 °C)


def started_with_load(alpha0: float) -> OvenPlant:
    plant = OvenPlant(seed=1)
    plant.load_emc(alpha0)
    plant.load_program(PMC_4H)
    plant.command(reg.CMD_START)
    return plant


class TestEmcLoad:
    def test_no_load_no_alpha(self) -> None:
        """Without load_emc the oven has no EMC truth."""
        assert OvenPlant().load_alpha is None

    def test_4h_post_mold_cure_lifts_molded_emc_above_095(self) -> None:
        """A molded wafer (α 0.856) through a 4 h PMC at 175 °C ends at 0.95..0.97 (≈ 0.959)."""
        plant = started_with_load(MOLDED)
        plant.advance(PMC_S + 60)
        assert plant.load_alpha is not None
        assert 0.95 <= plant.load_alpha <= 0.97

    def test_load_follows_the_mean_zone_temperature(self) -> None:
        """Integrating physics.emc over the mean true zone temperature, scan by scan, gives
        the plant's α to 1e-9: the truth is the chamber mean, without a lag."""
        plant = started_with_load(MOLDED)
        alpha = MOLDED
        for _ in range(3600):
            before = sum(plant.state.zone_c) / len(plant.state.zone_c)
            plant.advance(1.0)
            after = sum(plant.state.zone_c) / len(plant.state.zone_c)
            alpha = emc.step(emc.DEFAULT, alpha, 0.5 * (before + after), 1.0)
        assert plant.load_alpha == pytest.approx(alpha, abs=1e-9)

    def test_cold_oven_does_not_cure(self) -> None:
        """At 25 °C for an hour α moves by less than 1e-4."""
        plant = OvenPlant(seed=1)
        plant.load_emc(MOLDED)
        plant.advance(3600)
        assert plant.load_alpha == pytest.approx(MOLDED, abs=1e-4)

    @pytest.mark.parametrize("alpha0", [-0.1, 1.5, float("nan")])
    def test_alpha0_outside_0_1_is_refused(self, alpha0: float) -> None:
        """load_emc(α0) outside 0..1 raises SimConfigError naming alpha0."""
        with pytest.raises(SimConfigError, match=r"alpha0 must be a degree of cure 0\.\.1"):
            OvenPlant().load_emc(alpha0)
