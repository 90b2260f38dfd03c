"""Split, rework, merge, scrap; die and bin maps; genealogy both ways (both backends)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.domain.diemap import parse_bin_map, parse_die_map
from mes.domain.errors import InvalidInput, InvalidState, PermissionDenied
from mes.services import audit, diemaps, genealogy, holds, lots, routes
from mes.store.tables import Audit, Lot

MANUAL_ROUTE = """
name = "fo-manual"
[[steps]]
name = "PLACE"
[[steps]]
name = "MOLD"
[[steps]]
name = "INSPECT"
[[steps]]
name = "GRIND"
[[steps]]
name = "TEST"
[[steps]]
name = "SHIP"
"""


@pytest.fixture
def manual(line: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "fo-manual.toml"
    path.write_text(MANUAL_ROUTE)
    routes.import_file(line, "eng1", path)
    return line


def step(engine: Engine, lot_id: str) -> None:
    lots.track_in(engine, "op1", lot_id)
    lots.track_out(engine, "op1", lot_id)


def die_map_csv(wafers: list[str]) -> str:
    """Four dies per wafer: two from device wafer DW-A, two from DW-B."""
    rows = ["wafer,x,y,source_wafer,source_x,source_y"]
    for i, w in enumerate(wafers):
        rows += [f"{w},0,0,DW-A,{i},0", f"{w},1,0,DW-A,{i},1"]
        rows += [f"{w},0,1,DW-B,{i},0", f"{w},1,1,DW-B,{i},1"]
    return "\n".join(rows) + "\n"


def lot_of(engine: Engine, lot_id: str) -> Lot:
    with Session(engine) as s:
        lot = s.get(Lot, lot_id)
    assert lot is not None
    return lot


class TestSplitReworkMerge:
    def test_wafer_genealogy_and_maps_survive_the_route(self, manual: Engine) -> None:
        """Six wafers: two split off at INSPECT, reworked from MOLD, merged back at GRIND;
        the lot finishes with six wafers, each with its full history and its maps."""
        lots.create(manual, "op1", "L1", "fo-manual", 6)
        wafers = [lots.wafer_id("L1", n) for n in range(1, 7)]
        lots.track_in(manual, "op1", "L1")  # PLACE: the die map is written here
        placed = diemaps.record_die_map(manual, "op1", parse_die_map(die_map_csv(wafers)))
        assert placed == dict.fromkeys(wafers, 4)
        lots.track_out(manual, "op1", "L1")
        step(manual, "L1")  # MOLD
        child = genealogy.split(manual, "op1", "L1", ["2", "L1-W05"], "voids at X-ray")
        assert child.id == "L1.1" and (child.wafers, lot_of(manual, "L1").wafers) == (2, 4)
        genealogy.rework(manual, "eng1", "L1.1", "MOLD", "re-mold after void disposition")
        step(manual, "L1")  # INSPECT
        step(manual, "L1.1")  # MOLD again
        step(manual, "L1.1")  # INSPECT
        genealogy.merge(manual, "op1", "L1", "L1.1", "rework done")
        assert (lot_of(manual, "L1").wafers, lot_of(manual, "L1.1").status) == (6, "merged")
        step(manual, "L1")  # GRIND
        lots.track_in(manual, "op1", "L1")  # TEST: bins come from the tester
        bins = "wafer,x,y,bin\n" + "".join(
            f"{w},{x},{y},{1 if (x, y) != (1, 1) else 7}\n"
            for w in wafers
            for x in (0, 1)
            for y in (0, 1)
        )
        diemaps.record_bin_map(manual, "op1", parse_bin_map(bins))
        lots.track_out(manual, "op1", "L1")
        step(manual, "L1")  # SHIP
        assert lot_of(manual, "L1").status == "finished"

        trace = genealogy.wafer_trace(manual, "L1-W02")
        stay = genealogy.wafer_trace(manual, "L1-W01")
        assert stay.lots == ["L1"] and "split" not in [e.event for e in stay.events]
        assert trace.lots == ["L1", "L1.1", "L1"]
        events = [(e.event, e.step) for e in trace.events]
        for expected in [
            ("created", "PLACE"),
            ("diemap", "PLACE"),
            ("split", "INSPECT"),
            ("rework", "MOLD"),
            ("merged", "GRIND"),
            ("binmap", "TEST"),
        ]:
            assert expected in events
        assert trace.die_sources == {"DW-A": 2, "DW-B": 2}
        # its moves come with it, in order, in whichever lot it was at the time
        moves = [(e.lot_id, e.event, e.step) for e in trace.events if e.event.startswith("track")]
        assert moves[:4] == [
            ("L1", "track_in", "PLACE"),
            ("L1", "track_out", "PLACE"),
            ("L1", "track_in", "MOLD"),
            ("L1", "track_out", "MOLD"),
        ]
        assert ("L1.1", "track_in", "MOLD") in moves and ("L1", "track_out", "SHIP") in moves
        assert ("L1.1", "track_in", "INSPECT") in moves
        assert ("L1", "track_in", "INSPECT") not in moves  # its old lot moved on without it
        assert [(e.lot_id, e.step) for e in stay.events if e.event == "track_in"].count(
            ("L1", "MOLD")
        ) == 1

        tree = genealogy.lot_tree(manual, "L1.1")
        assert [(k.kind, k.from_lot, k.to_lot) for k in tree.ancestors] == [("split", "L1", "L1.1")]
        assert [(k.kind, k.from_lot, k.to_lot) for k in tree.descendants] == [
            ("merge", "L1.1", "L1")
        ]
        # forward from a device wafer: all six reconstituted wafers hold two of its dies
        uses = diemaps.source_trace(manual, "DW-B")
        assert [(u.wafer_id, u.lot_id, u.dies) for u in uses] == [(w, "L1", 2) for w in wafers]
        assert uses[0].bins == {1: 1, 7: 1}
        assert diemaps.wafer_map(manual, "L1-W05").render() == "11\n17"
        with Session(manual) as s:
            assert audit.verify(s).ok

    def test_split_carries_wafer_holds_and_merge_refuses_held_lots(self, manual: Engine) -> None:
        lots.create(manual, "op1", "L2", "fo-manual", 4)
        holds.hold(manual, "op1", "L2", "edge chip", code="quality", wafers=["1", "2"])
        genealogy.split(manual, "op1", "L2", ["2", "3"], "separate the chipped wafer")
        parent = holds.active_holds_of(manual, "L2")
        child = holds.active_holds_of(manual, "L2.1")
        assert [h.wafer_ids_json for h in parent] == ['["L2-W01"]']
        assert [h.wafer_ids_json for h in child] == ['["L2-W02"]']
        with pytest.raises(InvalidState, match="on hold; release it before a merge"):
            genealogy.merge(manual, "op1", "L2", "L2.1", "back together")

    def test_split_needs_a_remaining_wafer_and_a_waiting_lot(self, manual: Engine) -> None:
        lots.create(manual, "op1", "L3", "fo-manual", 2)
        with pytest.raises(InvalidInput, match="leaves at least one wafer"):
            genealogy.split(manual, "op1", "L3", ["1", "2"], "all of them")
        lots.track_in(manual, "op1", "L3")
        with pytest.raises(InvalidState, match="only a waiting lot can be split"):
            genealogy.split(manual, "op1", "L3", ["1"], "x")

    def test_operator_cannot_rework(self, manual: Engine) -> None:
        lots.create(manual, "op1", "L4", "fo-manual", 2)
        step(manual, "L4")
        with pytest.raises(PermissionDenied, match=r"may not lot\.rework"):
            genealogy.rework(manual, "op1", "L4", "PLACE", "x")


class TestScrap:
    def test_scrap_with_reason_and_last_wafer_scraps_the_lot(self, manual: Engine) -> None:
        lots.create(manual, "op1", "L5", "fo-manual", 2)
        genealogy.scrap(manual, "op1", "L5-W01", "broken in handling")
        assert (lot_of(manual, "L5").wafers, lot_of(manual, "L5").status) == (1, "waiting")
        with pytest.raises(InvalidState, match="already scrapped"):
            genealogy.scrap(manual, "op1", "L5-W01", "again")
        genealogy.scrap(manual, "op1", "L5-W02", "warped beyond limit")
        assert lot_of(manual, "L5").status == "scrapped"
        trace = genealogy.wafer_trace(manual, "L5-W02")
        assert (trace.wafer.status, trace.wafer.scrap_reason) == ("scrapped", "warped beyond limit")
        with Session(manual) as s:
            scraps = s.exec(select(Audit).where(Audit.action == "wafer.scrap")).all()
        assert [a.entity_id for a in scraps] == ["L5-W01", "L5-W02"]


class TestMaps:
    def test_die_map_written_once(self, manual: Engine) -> None:
        lots.create(manual, "op1", "L6", "fo-manual", 1)
        diemaps.record_die_map(manual, "op1", parse_die_map(die_map_csv(["L6-W01"])))
        with pytest.raises(InvalidState, match="already has a die map"):
            diemaps.record_die_map(manual, "op1", parse_die_map(die_map_csv(["L6-W01"])))

    def test_bin_for_an_empty_position_refuses_the_file(self, manual: Engine) -> None:
        lots.create(manual, "op1", "L7", "fo-manual", 1)
        diemaps.record_die_map(manual, "op1", parse_die_map(die_map_csv(["L7-W01"])))
        bad = parse_bin_map("wafer,x,y,bin\nL7-W01,0,0,1\nL7-W01,5,5,1\n")
        with pytest.raises(InvalidInput, match=r"no die placed at \(5, 5\)"):
            diemaps.record_bin_map(manual, "op1", bad)
        assert all(d.bin is None for d in diemaps.wafer_map(manual, "L7-W01").dies)

    def test_retest_keeps_the_replaced_bins_in_the_audit(self, manual: Engine) -> None:
        """A second bin map replaces bins; the audit names each die whose bin it changed."""
        lots.create(manual, "op1", "L8", "fo-manual", 1)
        diemaps.record_die_map(manual, "op1", parse_die_map(die_map_csv(["L8-W01"])))
        diemaps.record_bin_map(manual, "op1", parse_bin_map("wafer,x,y,bin\nL8-W01,0,0,7\n"))
        retest = "wafer,x,y,bin\nL8-W01,0,0,1\nL8-W01,1,0,1\n"
        diemaps.record_bin_map(manual, "op1", parse_bin_map(retest))
        die = next(d for d in diemaps.wafer_map(manual, "L8-W01").dies if (d.x, d.y) == (0, 0))
        assert die.bin == 1
        with Session(manual) as s:
            q = select(Audit).where(Audit.action == "wafer.binmap").order_by(col(Audit.seq))
            first, second = s.exec(q).all()
        assert first.before_json is None
        assert json.loads(second.before_json or "{}") == {"changed": [[0, 0, 7, 1]]}
        assert second.reason == "retest: 1 dies re-binned"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("wafer,x,y\nW,0,0\n", "missing source_wafer"),
            ("wafer,x,y,source_wafer\nW,0,-1,DW\n", "map.csv:2: y = -1: must be between 0 and 999"),
            ("wafer,x,y,source_wafer\nW,a,0,DW\n", "map.csv:2: x = 'a' is not an integer"),
            (
                "wafer,x,y,source_wafer\nW,0,0,DW\nW,0,0,DX\n",
                "map.csv:3: wafer W position (0, 0) already given on line 2",
            ),
        ],
    )
    def test_bad_die_map_names_line_and_field(self, text: str, message: str) -> None:
        with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_die_map(text, "map.csv")
