"""Plating samples round-trip: what a re-attaching supervisor replays is what was polled."""

from __future__ import annotations

import dataclasses

from drivers.core.plater import CellSnapshot, CellState, PlaterSnapshot
from mes.engine.plating.values import from_stored, published, to_values

WAFERS = ("L1-W01", "L1-W02", "L1-W03")


def cell(n: int, state: CellState, wafer: str, run_id: int, t: float) -> CellSnapshot:
    return CellSnapshot(n, state, wafer, run_id, 1, t, 5.66, 5.6 + n / 100, 2.1, 1 if n == 2 else 0)


def snap(t: float) -> PlaterSnapshot:
    return PlaterSnapshot(
        22.3,
        0.0,
        12.5,
        0,
        (
            cell(1, CellState.PLATING, "L1-W02", 7, t),
            cell(2, CellState.DONE, "L1-W03", 7, t + 1),
            cell(3, CellState.PLATING, "OTHER-W01", 9, t),  # not this run's
        ),
    )


def rows(values_at: dict[float, dict[str, float | None]]) -> list[tuple[float, str, float | None]]:
    return [(t, k, v) for t, values in values_at.items() for k, v in values.items()]


def test_stored_samples_rebuild_the_polled_snapshots_in_time_order() -> None:
    stored = rows({t: to_values(snap(t), 7, WAFERS) for t in (2.0, 1.0)})
    replay = from_stored(stored, 7, WAFERS)
    assert [t for t, _ in replay] == [1.0, 2.0]
    got = replay[0][1]
    want = snap(1.0)
    assert (got.bath_temp_c, got.bath_amp_hours) == (want.bath_temp_c, want.bath_amp_hours)
    # This run's wafers come back with their cell's state, times and values (step not kept).
    assert got.cells[:2] == tuple(dataclasses.replace(c, step=0) for c in want.cells[:2])
    # A wafer of another run is not this run's: the replayed cell carries none.
    assert (got.cells[2].wafer_id, got.cells[2].run_id) == ("", 0)


def test_cells_without_recorded_state_are_left_out() -> None:
    """Samples from before the replay channels existed: no cell is invented."""
    old = published(snap(1.0))
    replay = from_stored(rows({1.0: old}), 7, WAFERS)
    assert replay[0][1].cells == ()


def test_an_unknown_wafer_index_or_state_is_not_trusted() -> None:
    values = to_values(snap(1.0), 7, WAFERS)
    values["cell1_wafer"] = 17.0  # beyond the run's wafers
    values["cell2_state"] = 42.0  # no such state
    cells = from_stored(rows({1.0: values}), 7, WAFERS)[0][1].cells
    assert [c.cell for c in cells] == [1, 3]
    assert cells[0].wafer_id == ""
