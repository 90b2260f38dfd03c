"""A wafer's bin map exported as a SEMI E142 substrate map."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from mes.domain.diemap import parse_bin_map
from mes.domain.e142 import NAMESPACE, MapDie, substrate_map
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
