"""A wafer's bin map exported as a SEMI E142 substrate map."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from mes.domain.diemap import parse_bin_map
from mes.domain.e142 import NAMESPACE, MapDie, substrate_map
from mes.domain.e142_read import read_bin_map
from mes.domain.errors import InvalidInput, InvalidState

NS = {"e": NAMESPACE}


def export(dies: list[MapDie]) -> ET.Element:
    return ET.fromstring(substrate_map("L1-W02", "L1", 2, dies))


def test_layout_substrate_and_bin_rows() -> None:
    """Three columns from x = 4, two rows from y = 7; (6, 8) has no die, (4, 7) is untested.
    Rows run from the top row (y = 8) down, three digits a die."""
    dies = [
        MapDie(4, 8, 1),
        MapDie(5, 8, 2),
        MapDie(4, 7, None),
        MapDie(5, 7, 1),
        MapDie(6, 7, 1),
    ]
    root = export(dies)
    dim = root.find("e:Layouts/e:Layout/e:Dimension", NS)
    lower_left = root.find("e:Layouts/e:Layout/e:LowerLeft", NS)
    assert dim is not None and lower_left is not None
    assert (dim.get("X"), dim.get("Y")) == ("3", "2")
    assert (lower_left.get("X"), lower_left.get("Y")) == ("4", "7")
    substrate = root.find("e:Substrates/e:Substrate", NS)
    assert substrate is not None and substrate.get("SubstrateId") == "L1-W02"
    assert substrate.findtext("e:LotId", namespaces=NS) == "L1"
    assert substrate.findtext("e:SlotNumber", namespaces=NS) == "2"
    assert substrate.findtext("e:GoodDevices", namespaces=NS) == "3"
    codes = root.find("e:SubstrateMaps/e:SubstrateMap/e:Overlay/e:BinCodeMap", NS)
    assert codes is not None and codes.get("BinType") == "Decimal"
    definitions = {
        d.get("BinCode"): (d.get("BinCount"), d.get("BinQuality"))
        for d in codes.findall("e:BinDefinitions/e:BinDefinition", NS)
    }
    assert definitions == {"001": ("3", "Pass"), "002": ("1", "Fail"), "254": ("1", "Unknown")}
    rows = [r.text for r in codes.findall("e:BinCode", NS)]
    assert rows == ["001002255", "254001001"]


def test_good_bins_are_chosen_by_the_caller() -> None:
    xml = substrate_map("W", "L", 1, [MapDie(0, 0, 1), MapDie(1, 0, 2)], good_bins={1, 2})
    assert (
        ET.fromstring(xml).findtext("e:Substrates/e:Substrate/e:GoodDevices", namespaces=NS) == "2"
    )


def test_reserved_bins_and_an_empty_map_are_refused() -> None:
    with pytest.raises(InvalidInput, match="bin 254 is reserved"):
        substrate_map("W", "L", 1, [MapDie(0, 0, 254)])
    with pytest.raises(InvalidState, match="W has no die map"):
        substrate_map("W", "L", 1, [])


def test_bin_map_files_keep_to_the_bins_an_export_can_carry() -> None:
    with pytest.raises(InvalidInput, match="bin = 254: must be between 0 and 253"):
        parse_bin_map("wafer,x,y,bin\nL1-W01,0,0,254\n", "bins.csv")


class TestRead:
    """Bins read back from an E142 map (mes.domain.e142_read)."""

    def test_an_exported_map_reads_back_to_its_tested_dies(self) -> None:
        dies = [MapDie(4, 8, 1), MapDie(5, 8, 2), MapDie(4, 7, None), MapDie(6, 7, 17)]
        xml = substrate_map("L1-W02", "L1", 2, dies)
        got = {(b.wafer, b.x, b.y, b.bin) for b in read_bin_map(xml)}
        # (4, 7) is placed but untested: nothing to record; (5, 7) and (6, 8) hold no die.
        assert got == {("L1-W02", 4, 8, 1), ("L1-W02", 5, 8, 2), ("L1-W02", 6, 7, 17)}

    def test_hexadecimal_codes_and_a_null_bin_of_the_file(self) -> None:
        xml = hand_made(bin_type="HexaDecimal", null="00", rows=["0A00", "FE03"])
        got = {(b.x, b.y, b.bin) for b in read_bin_map(xml)}
        # Top row y = 1: bin 10, no die (00); bottom row: untested (FE = 254), bin 3.
        assert got == {(0, 1, 10), (1, 0, 3)}

    def test_bins_past_253_are_refused(self) -> None:
        xml = hand_made(bin_type="Decimal", rows=["001999"])
        with pytest.raises(InvalidInput, match=r"BinCode row 1, die 2: bin 999; bins are 0..253"):
            read_bin_map(xml, "t.xml")

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"origin": "UpperLeft"}, "OriginLocation UpperLeft, AxisDirection UpRight: only"),
            ({"orientation": "180"}, "Orientation 180: only unrotated maps (0) can be read"),
            ({"rows": ["001002<x>9</x>"]}, "a BinCode row holds elements"),
            ({"rows": ["255254"]}, "no tested die (every code is untested or no die)"),
            ({"height": "3"}, "1 BinCode rows; the layout is 3 high"),
            ({"rows": ["0010"]}, "BinCode row 1 has 4 characters; 2 dies × 3 = 6"),
            ({"rows": ["0x1001"]}, "BinCode row 1: '0x1' is not a decimal bin code"),
            ({"bin_type": "ASCII"}, "BinType 'ASCII': Decimal or HexaDecimal"),
            ({"layout": "Other"}, "LayoutSpecifier 'Other': no such Layout"),
            ({"width": "two"}, "Dimension X = 'two' is not an integer"),
            ({"width": "1001"}, "Dimension X = 1001: must be between 1 and 1000"),
        ],
    )
    def test_a_bad_map_is_refused_naming_what_is_wrong(
        self, change: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(InvalidInput, match=re.escape(message)):
            read_bin_map(hand_made(**change), "t.xml")

    def test_not_a_map(self) -> None:
        with pytest.raises(InvalidInput, match=r"t\.xml: not well-formed XML"):
            read_bin_map("<MapData>", "t.xml")
        with pytest.raises(InvalidInput, match="root element is Wafer, not E142 MapData"):
            read_bin_map("<Wafer/>", "t.xml")
        with pytest.raises(InvalidInput, match=r"t\.xml: no SubstrateMap"):
            read_bin_map("<MapData/>", "t.xml")

    def test_entities_are_refused(self) -> None:
        bomb = '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa">]><MapData>&a;</MapData>'
        with pytest.raises(InvalidInput, match=r"t\.xml: refused"):
            read_bin_map(bomb, "t.xml")

    def test_two_wafers_in_one_file_and_a_wafer_twice(self) -> None:
        one = substrate_map("W1", "L", 1, [MapDie(0, 0, 3)])
        two = substrate_map("W2", "L", 2, [MapDie(0, 0, 4)])
        maps = [ET.fromstring(x).find("e:SubstrateMaps/e:SubstrateMap", NS) for x in (one, two)]
        root = ET.fromstring(one)
        group = root.find("e:SubstrateMaps", NS)
        assert group is not None and maps[1] is not None
        group.append(maps[1])
        both = ET.tostring(root, encoding="unicode")
        assert {(b.wafer, b.bin) for b in read_bin_map(both)} == {("W1", 3), ("W2", 4)}
        assert maps[0] is not None
        group.append(maps[0])
        with pytest.raises(InvalidInput, match="two SubstrateMaps of wafer W1"):
            read_bin_map(ET.tostring(root, encoding="unicode"))


def hand_made(
    *,
    bin_type: str = "Decimal",
    null: str | None = None,
    rows: list[str] | None = None,
    origin: str = "LowerLeft",
    layout: str = "Devices",
    width: str = "2",
    height: str | None = None,
    orientation: str = "0",
) -> str:
    """A one-wafer E142 map written by hand, without a namespace (as some testers do)."""
    rows = rows if rows is not None else ["001002"]
    height = height if height is not None else str(len(rows))
    null_attr = "" if null is None else f' NullBin="{null}"'
    codes = "".join(f"<BinCode>{r}</BinCode>" for r in rows)
    return (
        f'<MapData><Layouts><Layout LayoutId="Devices"><Dimension X="{width}" Y="{height}"/>'
        "</Layout></Layouts><SubstrateMaps>"
        f'<SubstrateMap SubstrateType="Wafer" SubstrateId="W" LayoutSpecifier="{layout}" '
        f'Orientation="{orientation}" OriginLocation="{origin}" AxisDirection="UpRight">'
        '<Overlay MapName="BinCodeMap">'
        f'<BinCodeMap BinType="{bin_type}"{null_attr}>{codes}</BinCodeMap>'
        "</Overlay></SubstrateMap></SubstrateMaps></MapData>"
    )
