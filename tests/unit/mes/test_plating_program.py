"""The programmed current of a plating job, as the supervisor bridges holes with it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.core.plater import PlatingStep
from mes.engine.plating.program import ToolProgram

# rdl-cu-5um on 2.83 dm²: a 0.5 A/dm² strike for 60 s, then 2 A/dm² for 743 s; 5 s ramps.
PROGRAM = ToolProgram([PlatingStep(1.415, 60.0), PlatingStep(5.66, 743.0)], 5.0)


def test_current_ramps_from_the_previous_step_then_holds() -> None:
    assert PROGRAM.end_s == 803.0
    points = {-1.0: 0.0, 0.0: 0.0, 2.5: 0.7075, 10.0: 1.415, 62.5: 3.5375, 100.0: 5.66}
    for t, amps in points.items():
        assert PROGRAM.current_a(t) == pytest.approx(amps), t
    assert PROGRAM.current_a(802.9) == 5.66
    assert PROGRAM.current_a(803.0) == 0.0  # the job is over


def test_charge_of_the_whole_job() -> None:
    ramp_strike = 1.415 / 2 * 5
    ramp_deposit = (1.415 + 5.66) / 2 * 5
    expected = ramp_strike + 1.415 * 55 + ramp_deposit + 5.66 * 738
    assert PROGRAM.charge_c(0.0, 803.0) == pytest.approx(expected)
    assert PROGRAM.charge_c(-50.0, 2000.0) == pytest.approx(expected)  # nothing outside


def test_a_ramp_longer_than_its_step_is_cut_at_the_step_end() -> None:
    """Half way up when the step ends; the next step ramps from the previous step's
    target (2 A, here its own), as the tool does, so the current jumps there."""
    short = ToolProgram([PlatingStep(2.0, 4.0), PlatingStep(2.0, 10.0)], 8.0)
    assert short.current_a(4.0 - 1e-9) == pytest.approx(1.0)
    assert short.current_a(4.0) == 2.0
    assert short.charge_c(0.0, 4.0) == pytest.approx(1.0 / 2 * 4.0)
    assert short.charge_c(4.0, 14.0) == pytest.approx(20.0)


@given(
    st.floats(min_value=-10, max_value=820),
    st.floats(min_value=1e-3, max_value=200),
)
def test_charge_is_the_integral_of_the_current(t0: float, width: float) -> None:
    t1 = t0 + width
    n = 4000
    dt = width / n
    riemann = sum(PROGRAM.current_a(t0 + (k + 0.5) * dt) for k in range(n)) * dt
    # The midpoint sum misses at most one slice's worth at each jump (0 → 1.415 A is a ramp;
    # 5.66 → 0 A at the end is a jump).
    assert PROGRAM.charge_c(t0, t1) == pytest.approx(riemann, rel=1e-3, abs=2 * 5.66 * dt)
