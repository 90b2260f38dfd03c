"""A wafer's bin map as a SEMI E142 substrate map (XML), for tools and systems that read one.

What is written, in E142's structure (MapData → Layouts, Substrates, SubstrateMaps):

- a layout `Devices` whose Dimension is the extent of the placed dies and whose LowerLeft
  is the smallest (x, y); the map's origin is LowerLeft and its axes go UpRight, so
  x grows to the right and y upwards, as in the die and bin map files;
- the substrate (a Wafer) with its lot, slot and count of good devices;
- one BinCodeMap overlay, BinType Decimal (three digits a die): the test bin of each
  placed die, `UNTESTED` for a die placed but not yet tested, `NULL_BIN` where no die was
  placed. Rows run from the top row (largest y) down, as the map is drawn.

Bins in `good_bins` are Pass, the others Fail. Where each die came from (its device wafer)
is not part of a bin code map: `pkgline wafer history` and the die map CSV carry it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Set
from dataclasses import dataclass

from mes.domain.diemap import MAX_BIN, NULL_BIN, UNTESTED
from mes.domain.errors import InvalidInput, InvalidState

NAMESPACE = "urn:semi-org:xsd.E142-1.V0105.SubstrateMap"
GOOD_BINS = frozenset({1})


@dataclass(frozen=True)
class MapDie:
    x: int
    y: int
    bin: int | None  # None: placed, not tested


def substrate_map(
    wafer_id: str,
    lot_id: str,
    slot: int,
    dies: Iterable[MapDie],
    good_bins: Set[int] = GOOD_BINS,
) -> str:
    """The E142 XML document of one wafer's bin map (see the module docstring)."""
    dies = list(dies)
    placed = {(d.x, d.y): (UNTESTED if d.bin is None else d.bin) for d in dies}
    if not placed:
        raise InvalidState(f"wafer {wafer_id} has no die map to export")
    reserved = sorted({d.bin for d in dies if d.bin is not None and d.bin > MAX_BIN})
    if reserved:
        raise InvalidInput(
            f"wafer {wafer_id}: bin {reserved[0]} is reserved in the E142 export "
            f"({UNTESTED} untested, {NULL_BIN} no die); bins must be 0..{MAX_BIN}"
        )
    xs = [x for x, _ in placed]
    ys = [y for _, y in placed]
    x0, y0 = min(xs), min(ys)
    width, height = max(xs) - x0 + 1, max(ys) - y0 + 1
    counts = Counter(placed.values())

    ET.register_namespace("", NAMESPACE)
    root = ET.Element(_q("MapData"))
    layout = ET.SubElement(
        ET.SubElement(root, _q("Layouts")),
        _q("Layout"),
        LayoutId="Devices",
        DefaultUnits="mm",
    )
    ET.SubElement(layout, _q("Dimension"), X=str(width), Y=str(height))
    ET.SubElement(layout, _q("LowerLeft"), X=str(x0), Y=str(y0))

    substrate = ET.SubElement(
        ET.SubElement(root, _q("Substrates")),
        _q("Substrate"),
        SubstrateType="Wafer",
        SubstrateId=wafer_id,
    )
    ET.SubElement(substrate, _q("LotId")).text = lot_id
    ET.SubElement(substrate, _q("SlotNumber")).text = str(slot)
    good = sum(n for b, n in counts.items() if b in good_bins)
    ET.SubElement(substrate, _q("GoodDevices")).text = str(good)

    smap = ET.SubElement(
        ET.SubElement(root, _q("SubstrateMaps")),
        _q("SubstrateMap"),
        SubstrateType="Wafer",
        SubstrateId=wafer_id,
        LayoutSpecifier="Devices",
        Orientation="0",
        OriginLocation="LowerLeft",
        AxisDirection="UpRight",
    )
    overlay = ET.SubElement(smap, _q("Overlay"), MapName="BinCodeMap", MapVersion="1")
    codes = ET.SubElement(overlay, _q("BinCodeMap"), BinType="Decimal", NullBin=f"{NULL_BIN:03d}")
    definitions = ET.SubElement(codes, _q("BinDefinitions"))
    for code in sorted(counts):
        ET.SubElement(
            definitions,
            _q("BinDefinition"),
            BinCode=f"{code:03d}",
            BinCount=str(counts[code]),
            BinQuality=_quality(code, good_bins),
            BinDescription="placed, not tested" if code == UNTESTED else f"bin {code}",
        )
    for y in range(y0 + height - 1, y0 - 1, -1):
        row = "".join(f"{placed.get((x, y), NULL_BIN):03d}" for x in range(x0, x0 + width))
        ET.SubElement(codes, _q("BinCode")).text = row
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def _quality(code: int, good_bins: Set[int]) -> str:
    if code == UNTESTED:
        return "Unknown"
    return "Pass" if code in good_bins else "Fail"
