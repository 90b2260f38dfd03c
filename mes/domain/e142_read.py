"""Test bins from a SEMI E142 substrate map (XML), as a tester or a map server writes one.

Read is the form `pkgline wafer map --e142` writes (mes.domain.e142), whatever the
schema version in the namespace:

- each SubstrateMap of a Wafer names its substrate (the wafer id) and a Layout, whose
  Dimension (X, Y) and LowerLeft (default 0, 0) place the map on the wafer's die grid;
- the map's origin is LowerLeft and its axes go UpRight (x to the right, y upwards, as in
  the die and bin map files), unrotated (Orientation 0). Other origins and rotations are
  refused: turning them into this grid needs the tester's and the placement's
  conventions, which the file does not carry;
- one BinCodeMap overlay of BinType Decimal (three digits a die) or HexaDecimal (two),
  rows from the top row down. The NullBin code (default 255) is no die; 254 is a die
  placed but not tested, and records nothing.

One error refuses the file; the message names the element and the limit.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from mes.domain.diemap import MAX_BIN, MAX_INDEX, NULL_BIN, UNTESTED, DieBin
from mes.domain.errors import InvalidInput

DIGITS = {"Decimal": (3, 10), "HexaDecimal": (2, 16)}  # BinType → (characters a die, base)
MAX_BYTES = 20_000_000  # a 999 × 999 map in Decimal is about 3 MB


def read_bin_map(text: str, name: str = "E142 map") -> list[DieBin]:
    """The tested dies of every wafer map in the document (see the module docstring)."""
    if len(text) > MAX_BYTES:
        raise InvalidInput(f"{name}: {len(text)} bytes; an E142 map may have {MAX_BYTES}")
    try:
        root = fromstring(text)
    except ET.ParseError as exc:
        raise InvalidInput(f"{name}: not well-formed XML ({exc})") from None
    except DefusedXmlException as exc:
        raise InvalidInput(f"{name}: refused: {exc}") from None
    if _local(root.tag) != "MapData":
        raise InvalidInput(f"{name}: root element is {_local(root.tag)}, not E142 MapData")
    layouts = {layout.get("LayoutId", ""): layout for layout in _all(root, "Layouts", "Layout")}
    maps = _all(root, "SubstrateMaps", "SubstrateMap")
    if not maps:
        raise InvalidInput(f"{name}: no SubstrateMap")
    out: list[DieBin] = []
    seen: set[str] = set()
    for smap in maps:
        wafer = _wafer(name, smap)
        if wafer in seen:
            raise InvalidInput(f"{name}: two SubstrateMaps of wafer {wafer}")
        seen.add(wafer)
        out.extend(_bins(f"{name}: SubstrateMap {wafer}", wafer, smap, layouts))
    if not out:
        raise InvalidInput(f"{name}: no tested die (every code is untested or no die)")
    return out


def _wafer(name: str, smap: ET.Element) -> str:
    wafer = smap.get("SubstrateId", "")
    if not 1 <= len(wafer) <= 64:
        raise InvalidInput(f"{name}: SubstrateMap SubstrateId: 1-64 characters")
    kind = smap.get("SubstrateType", "Wafer")
    if kind != "Wafer":
        raise InvalidInput(f"{name}: SubstrateMap {wafer}: SubstrateType {kind!r}, not Wafer")
    return wafer


def _bins(where: str, wafer: str, smap: ET.Element, layouts: dict[str, ET.Element]) -> list[DieBin]:
    origin = (smap.get("OriginLocation", "LowerLeft"), smap.get("AxisDirection", "UpRight"))
    if origin != ("LowerLeft", "UpRight"):
        raise InvalidInput(
            f"{where}: OriginLocation {origin[0]}, AxisDirection {origin[1]}: only "
            "LowerLeft / UpRight maps can be read (x to the right, y upwards)"
        )
    orientation = smap.get("Orientation", "0")
    if orientation not in ("0", "0.0"):
        raise InvalidInput(
            f"{where}: Orientation {orientation}: only unrotated maps (0) can be read"
        )
    layout = layouts.get(smap.get("LayoutSpecifier", ""))
    if layout is None:
        raise InvalidInput(
            f"{where}: LayoutSpecifier {smap.get('LayoutSpecifier')!r}: no such Layout"
        )
    width, height = _pair(where, layout, "Dimension", None, 1)
    x0, y0 = _pair(where, layout, "LowerLeft", (0, 0), 0)
    if x0 + width - 1 > MAX_INDEX or y0 + height - 1 > MAX_INDEX:
        raise InvalidInput(f"{where}: the layout reaches past position {MAX_INDEX}")
    codes = [c for c in smap.iter() if _local(c.tag) == "BinCodeMap"]
    if len(codes) != 1:
        raise InvalidInput(f"{where}: {len(codes)} BinCodeMap overlays; one is read")
    code_map = codes[0]
    bin_type = code_map.get("BinType", "")
    if bin_type not in DIGITS:
        raise InvalidInput(f"{where}: BinType {bin_type!r}: Decimal or HexaDecimal")
    digits, base = DIGITS[bin_type]
    null_text = code_map.get("NullBin")
    null = NULL_BIN if null_text is None else _code(where, "NullBin", null_text, base)
    row_elements = [r for r in code_map if _local(r.tag) == "BinCode"]
    if any(len(r) for r in row_elements):
        raise InvalidInput(f"{where}: a BinCode row holds elements; only bin codes are read")
    rows = [(r.text or "").strip() for r in row_elements]
    if len(rows) != height:
        raise InvalidInput(f"{where}: {len(rows)} BinCode rows; the layout is {height} high")
    out = []
    for i, row in enumerate(rows):
        y = y0 + height - 1 - i  # the first row is the top one
        if len(row) != width * digits:
            raise InvalidInput(
                f"{where}: BinCode row {i + 1} has {len(row)} characters; "
                f"{width} dies × {digits} = {width * digits}"
            )
        for j in range(width):
            code = _code(where, f"BinCode row {i + 1}", row[j * digits : (j + 1) * digits], base)
            if code in (null, UNTESTED):
                continue
            if code > MAX_BIN:
                raise InvalidInput(
                    f"{where}: BinCode row {i + 1}, die {j + 1}: bin {code}; bins are 0..{MAX_BIN}"
                )
            out.append(DieBin(wafer=wafer, x=x0 + j, y=y, bin=code))
    return out


def _pair(
    where: str, layout: ET.Element, tag: str, default: tuple[int, int] | None, low: int
) -> tuple[int, int]:
    found = [e for e in layout if _local(e.tag) == tag]
    if not found:
        if default is None:
            raise InvalidInput(f"{where}: its Layout has no {tag}")
        return default
    values = []
    for axis in ("X", "Y"):
        raw = found[0].get(axis, "")
        try:
            n = int(raw)
        except ValueError:
            raise InvalidInput(f"{where}: {tag} {axis} = {raw!r} is not an integer") from None
        if not low <= n <= MAX_INDEX + 1:
            raise InvalidInput(
                f"{where}: {tag} {axis} = {n}: must be between {low} and {MAX_INDEX + 1}"
            )
        values.append(n)
    return values[0], values[1]


def _code(where: str, what: str, text: str, base: int) -> int:
    allowed = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
    if not text or any(c not in allowed for c in text):
        kind = "hexadecimal" if base == 16 else "decimal"
        raise InvalidInput(f"{where}: {what}: {text!r} is not a {kind} bin code")
    return int(text, base)


def _all(root: ET.Element, group: str, item: str) -> list[ET.Element]:
    return [e for g in root if _local(g.tag) == group for e in g if _local(e.tag) == item]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
