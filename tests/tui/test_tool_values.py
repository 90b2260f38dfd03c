"""Each tool type's live values in the Tools table, and its run in the trend panel."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from drivers.core.press import CycleState
from mes.domain.equipment import PRESS_CYCLE_STAGES
from mes.services import reads, runs
from mes.services.tx import transaction
from mes.store.tables import Run, Tool
from mes.tui.data import load_snapshot
from mes.tui.tables import press_stage, tool_cells
from tests.tui.helpers import OPERATOR, OVEN, PLATER, PRESS, running


def cells_of(engine: Engine, tool_id: str) -> list[str]:
    tool = next(t for t in reads.tools(engine) if t.id == tool_id)
    return [str(c) for c in tool_cells(tool)]


def test_each_tool_type_shows_its_own_values(busy_line: Engine) -> None:
    """Oven: zones against the set-point, the atmosphere; press: platens, cycle and stage,
    clamp and transfer; plater: bath, each cell's current, bath amp-hours."""
    assert cells_of(busy_line, OVEN)[6:] == [
        "142.2 (141.0–143.5) SP 145.0",
        "O2 42 ppm · N2 50.0 l/min",
    ]
    assert cells_of(busy_line, PRESS)[6:] == [
        "175.2 / 174.6",
        "cycle 3 cure · clamp 1480 kN · 7.9 MPa",
    ]
    assert cells_of(busy_line, PLATER)[6:] == ["22.1", "cell1 5.66 A · cell2 0.00 A · bath 41.3 Ah"]


def test_a_tool_that_published_nothing_shows_dashes(plated_line: Engine) -> None:
    assert cells_of(plated_line, PLATER)[6:] == ["—", "—"]


def test_press_stage_names_follow_the_driver() -> None:
    assert tuple(s.name.lower() for s in CycleState) == PRESS_CYCLE_STAGES
    assert [press_stage(float(s)) for s in CycleState] == list(PRESS_CYCLE_STAGES)
    assert press_stage(None) == press_stage(9.0) == ""


def _plating_run(engine: Engine) -> int:
    """A plating run in flight on PLATER-01 with a minute of cell currents."""
    with transaction(engine) as s:
        run = Run(
            lot_id="L002",
            tool_id=PLATER,
            step="RDL1.PLATE",
            recipe_name="rdl-cu-5um",
            recipe_version=1,
            status="running",
            requested_by=OPERATOR,
            start_c=22.0,
        )
        s.add(run)
        s.flush()
        tool = s.get(Tool, PLATER)
        assert tool is not None and run.id is not None
        tool.run_id = run.id
        run_id = run.id
    ts = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    rows: list[runs.SampleRow] = []
    for t in range(0, 61, 10):
        rows.append((run_id, float(t), ts, "cell2_current_a", 1.4))
        rows.append((run_id, float(t), ts, "cell1_current_a", 5.66 if t else 0.0))
        rows.append((run_id, float(t), ts, "bath_temp_c", 22.0))
    runs.write_samples(engine, rows)
    return run_id


def test_a_plating_run_trends_cell_currents_in_amperes(plated_line: Engine) -> None:
    """No profile band for a plating recipe (reading one as an oven profile used to fail
    the whole screen's refresh); the series are the cells' currents, in cell order."""
    run_id = _plating_run(plated_line)
    trend = load_snapshot(plated_line, OPERATOR, PLATER).trend
    assert trend is not None and trend.run_id == run_id
    assert (trend.unit, trend.axis, trend.band) == ("A", "run time (min)", [])
    assert list(trend.series) == ["cell1_current_a", "cell2_current_a"]
    assert trend.series["cell1_current_a"][-1] == (60.0, 5.66)


async def test_selecting_the_plater_shows_its_run(plated_line: Engine) -> None:
    run_id = _plating_run(plated_line)
    async with running(plated_line) as h:
        trend = h.app.screen_stack[0].query_one("#trend")
        rows = [str(r.key.value) for r in h.table("tools").ordered_rows]
        for _ in range(rows.index(PLATER)):
            await h.press("down")
        assert trend.border_title == f"Trend · {PLATER} · run {run_id} · lot L002"
        assert h.errors() == []
