"""A seeded line for the TUI tests, built only through mes.services.

Route demo-route: MOLD (manual) → PMC (cure_oven, recipe pmc-175) → GRIND (manual).
Tool OVEN-01 (cure_oven) is leased by a daemon; lots L001 and L002 wait at MOLD.
The cured and plated lines add completed runs written directly, without running a tool.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from mes.services import ledger, lots, plating, qualification, recipes, routes, runs, tools, users
from mes.services.ledger import CureRecord
from mes.services.plating import WaferPlating
from mes.services.tx import transaction
from mes.store.db import create_schema, make_engine
from mes.store.tables import Alarm, Run, Tool
from tests.tui.helpers import OPERATOR, OVEN, PLATER, PRESS, to_oven_step

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "library" / "pmc-175.toml"
PLATING_RECIPE = REPO / "recipes" / "library" / "rdl-cu-5um.toml"
ROUTE_TOML = """\
name = "demo-route"

[[steps]]
name = "MOLD"

[[steps]]
name = "PMC"
tool_type = "cure_oven"
recipe = "pmc-175"

[[steps]]
name = "GRIND"
"""


@pytest.fixture
def demo_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty line: schema, users, route, approved recipe, one leased oven qualified for
    PMC. No lots."""
    eng = make_engine(f"sqlite:///{tmp_path / 'line.db'}")
    create_schema(eng)
    users.bootstrap(eng, "admin")
    users.add(eng, "admin", OPERATOR, "operator")
    route_file = tmp_path / "demo-route.toml"
    route_file.write_text(ROUTE_TOML, encoding="utf-8")
    routes.import_file(eng, "admin", route_file)
    recipe = recipes.import_file(eng, "admin", RECIPE)
    recipes.approve(eng, "admin", recipe.name, recipe.version)
    tools.register(eng, "admin", OVEN, "cure_oven")
    qualification.qualify(eng, "admin", OVEN, "PMC")
    tools.heartbeat(eng, "daemon-1", [OVEN], ttl_s=600)
    yield eng
    eng.dispose()


@pytest.fixture
def demo_line(demo_engine: Engine) -> Engine:
    """The line with lots L001 and L002 waiting at MOLD."""
    lots.create(demo_engine, OPERATOR, "L001", "demo-route", 25)
    lots.create(demo_engine, OPERATOR, "L002", "demo-route", 12)
    return demo_engine


PRESS_VALUES: dict[str, object] = {
    "platen_top_c": 175.2,
    "platen_bottom_c": 174.6,
    "clamp_force_kn": 1480.0,
    "transfer_pressure_mpa": 7.9,
    "ram_position_mm": 12.0,
    "current_cycle": 3.0,
    "cycle_state": 3.0,  # cure
}
PLATER_VALUES: dict[str, object] = {
    "bath_temp_c": 22.1,
    "bath_ah": 41.3,
    "cell1_current_a": 5.66,
    "cell1_voltage_v": 2.1,
    "cell2_current_a": 0.0,
    "cell2_voltage_v": 0.0,
}


# A PMC run 40 min in: ramping at 3 °C/min from 25 °C, four zones lagging the set-point.
RUN_MINUTES = 40
ZONE_LAG_C = (1.5, 2.5, 3.0, 4.0)


def setpoint(t_s: float) -> float:
    return min(25.0 + 3.0 * t_s / 60.0, 175.0)


@pytest.fixture
def busy_line(demo_line: Engine) -> Engine:
    """The line mid-run: L002 curing in OVEN-01 with samples, live values and an alarm.

    L001 still waits at MOLD; L003 waits at PMC, on hold. Timestamps written here are
    fixed so the screen does not depend on the wall clock.
    """
    eng = demo_line
    to_oven_step(eng, "L002")
    ticket = lots.track_in(eng, OPERATOR, "L002", OVEN)
    assert ticket.run_id is not None
    runs.claim(eng, "equipment", [OVEN])
    runs.mark_started(eng, "equipment", ticket.run_id, start_c=25.0)
    ts = datetime(2025, 1, 1, 8, 0, 0, tzinfo=UTC)
    rows: list[runs.SampleRow] = []
    for t in range(0, RUN_MINUTES * 60 + 1, 30):
        sp = setpoint(t)
        rows.append((ticket.run_id, float(t), ts, "sp_c", sp))
        for z, lag in enumerate(ZONE_LAG_C, start=1):
            rows.append((ticket.run_id, float(t), ts, f"zone{z}_c", max(25.0, sp - lag)))
    runs.write_samples(eng, rows)
    t_end = RUN_MINUTES * 60.0
    values: dict[str, object] = {"sp_c": setpoint(t_end), "o2_ppm": 42.0, "n2_lpm": 50.0}
    values |= {f"zone{z}_c": setpoint(t_end) - lag for z, lag in enumerate(ZONE_LAG_C, 1)}
    values["t_program"] = t_end
    tools.publish_values(eng, OVEN, True, values)
    runs.record_alarm(
        eng,
        "equipment",
        tool_id=OVEN,
        kind="excursion",
        code="RAMP_RATE",
        message="zone4 ramp 3.4 °C/min > 3.0 °C/min",
        run_id=ticket.run_id,
        lot_id="L002",
        t_program=1260.0,
    )
    # The press between cycles and the plater idle, both leased and publishing.
    tools.register(eng, "admin", PRESS, "molding_press")
    tools.register(eng, "admin", PLATER, "plating_tool")
    tools.heartbeat(eng, "daemon-1", [OVEN, PRESS, PLATER], ttl_s=600)
    tools.publish_values(eng, PRESS, True, PRESS_VALUES)
    tools.publish_values(eng, PLATER, True, PLATER_VALUES)
    lots.create(eng, OPERATOR, "L003", "demo-route", 25)
    to_oven_step(eng, "L003")
    lots.hold(eng, OPERATOR, "L003", "EMC lot expired: check shelf life")
    _fix_alarm_times(eng, datetime(2025, 1, 1, 8, 21, 0, tzinfo=UTC))
    return eng


def _fix_alarm_times(engine: Engine, ts: datetime) -> None:
    # The only write outside mes.services: pin the alarm timestamp for the snapshot.
    with engine.begin() as conn:
        conn.execute(update(Alarm).values(ts=ts))


EMC = "emc-g700"


def cure(engine: Engine, lot_id: str, step: str, recipe: str, records: list[CureRecord]) -> int:
    """Write one completed run of `lot_id` and its ledger entries, without running a tool."""
    with transaction(engine) as s:
        run = Run(
            lot_id=lot_id,
            tool_id=OVEN,
            step=step,
            recipe_name=recipe,
            recipe_version=1,
            status="completed",
            requested_by=OPERATOR,
        )
        s.add(run)
        s.flush()  # the entries need the run's id
        ledger.write_entries(s, run, records)
        assert run.id is not None
        return run.id


@pytest.fixture
def cured_line(demo_line: Engine) -> Engine:
    """The demo line where L001's wafers 1 and 2 went through PMC and wafer 1 also through a
    polyimide cure (gaps in its samples); wafers 3 to 25 were never cured."""
    cure(
        demo_line,
        "L001",
        "PMC",
        "pmc-175",
        [
            CureRecord("L001-W01", EMC, 0.8512, 0.97234, 168.04, 14040.0, 176.2),
            CureRecord("L001-W02", EMC, 0.8498, 0.96811, 166.55, 13800.0, 175.9),
        ],
    )
    cure(
        demo_line,
        "L001",
        "PI-CURE",
        "pi-cure-230",
        [CureRecord("L001-W01", EMC, 0.97234, 0.99102, 171.3, 7200.0, 231.4, gaps=2)],
    )
    return demo_line


PLATE_STEP = "RDL1.PLATE"


def plate(engine: Engine, lot_id: str, records: list[WaferPlating]) -> int:
    """Write one completed plating run of `lot_id` and its records, without running a tool."""
    with transaction(engine) as s:
        run = Run(
            lot_id=lot_id,
            tool_id=PLATER,
            step=PLATE_STEP,
            recipe_name="rdl-cu-5um",
            recipe_version=1,
            status="completed",
            requested_by=OPERATOR,
        )
        s.add(run)
        s.flush()  # the records need the run's id
        tool = s.get(Tool, PLATER)
        assert tool is not None
        plating.write_records(s, run, records, tool)
        assert run.id is not None
        return run.id


@pytest.fixture
def plated_line(demo_line: Engine) -> Engine:
    """The demo line where L001's wafers 1 and 2 were plated in one run of rdl-cu-5um on
    PLATER-01 at η = 0.9 (no metrology yet: the tool has no learned η); L002 was never
    plated."""
    recipe = recipes.import_file(demo_line, "admin", PLATING_RECIPE)
    recipes.approve(demo_line, "admin", recipe.name, recipe.version)
    tools.register(demo_line, "admin", PLATER, "plating_tool")
    # Charge for 5.5 and 5.474 µm at η = 1 on 2.83 dm² (0.2205 µm per A/dm²·min).
    plate(
        demo_line,
        "L001",
        [
            WaferPlating("L001-W01", 1, 4236.0, 0.9, 4.950, 5.500),
            WaferPlating("L001-W02", 2, 4215.5, 0.9, 4.928, 5.474, gaps=1, unverified_s=12.0),
        ],
    )
    return demo_line
