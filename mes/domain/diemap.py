"""Die and bin map files (CSV, in the spirit of SEMI E142 substrate maps).

A die map is written at pick & place: for each position (x, y) of a reconstituted wafer,
the device wafer the known-good die came from (and its position there). A bin map comes
from final test: a bin per placed position. Errors name the file, the line and the field.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from mes.domain.errors import InvalidInput

MAX_INDEX = 999  # die positions per axis on a 300 mm panel or wafer
# Bin codes an E142 bin code map reserves (mes.domain.e142): test bins stay below them.
UNTESTED = 254  # a die placed, not tested yet
NULL_BIN = 255  # no die at this position
MAX_BIN = UNTESTED - 1
DIE_COLUMNS = ("wafer", "x", "y", "source_wafer")
BIN_COLUMNS = ("wafer", "x", "y", "bin")


@dataclass(frozen=True)
class DiePlacement:
    wafer: str
    x: int
    y: int
    source_wafer: str
    source_x: int | None = None
    source_y: int | None = None


@dataclass(frozen=True)
class DieBin:
    wafer: str
    x: int
    y: int
    bin: int


def _rows(text: str, name: str, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(
            f"{name}: header needs columns {', '.join(required)}; missing {missing[0]}"
        )
    reader.fieldnames = header
    rows = [
        (reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None})
        for row in reader
    ]
    if not rows:
        raise InvalidInput(f"{name}: no rows")
    return rows


def _int(name: str, line: int, field: str, value: str, high: int, *, optional: bool = False) -> int:
    if optional and value == "":
        return -1
    try:
        n = int(value)
    except ValueError:
        raise InvalidInput(f"{name}:{line}: {field} = {value!r} is not an integer") from None
    if not 0 <= n <= high:
        raise InvalidInput(f"{name}:{line}: {field} = {n}: must be between 0 and {high}")
    return n


def _text(name: str, line: int, field: str, value: str) -> str:
    if not value or len(value) > 64:
        raise InvalidInput(f"{name}:{line}: {field}: 1-64 characters")
    return value


def _no_repeats(name: str, keys: list[tuple[int, tuple[str, int, int]]]) -> None:
    seen: dict[tuple[str, int, int], int] = {}
    for line, key in keys:
        if key in seen:
            raise InvalidInput(
                f"{name}:{line}: wafer {key[0]} position ({key[1]}, {key[2]}) "
                f"already given on line {seen[key]}"
            )
        seen[key] = line


def parse_die_map(text: str, name: str = "die map") -> list[DiePlacement]:
    """wafer,x,y,source_wafer[,source_x,source_y] → placements; one bad row refuses all."""
    out, lines = [], []
    for line, row in _rows(text, name, DIE_COLUMNS):
        lines.append(line)
        sx = _int(name, line, "source_x", row.get("source_x", ""), MAX_INDEX, optional=True)
        sy = _int(name, line, "source_y", row.get("source_y", ""), MAX_INDEX, optional=True)
        out.append(
            DiePlacement(
                wafer=_text(name, line, "wafer", row["wafer"]),
                x=_int(name, line, "x", row["x"], MAX_INDEX),
                y=_int(name, line, "y", row["y"], MAX_INDEX),
                source_wafer=_text(name, line, "source_wafer", row["source_wafer"]),
                source_x=None if sx < 0 else sx,
                source_y=None if sy < 0 else sy,
            )
        )
    _no_repeats(name, [(n, (d.wafer, d.x, d.y)) for n, d in zip(lines, out, strict=True)])
    return out


def parse_bin_map(text: str, name: str = "bin map") -> list[DieBin]:
    """wafer,x,y,bin → bins; one bad row refuses all."""
    rows = _rows(text, name, BIN_COLUMNS)
    out = [
        DieBin(
            wafer=_text(name, line, "wafer", row["wafer"]),
            x=_int(name, line, "x", row["x"], MAX_INDEX),
            y=_int(name, line, "y", row["y"], MAX_INDEX),
            bin=_int(name, line, "bin", row["bin"], MAX_BIN),
        )
        for line, row in rows
    ]
    _no_repeats(name, [(n, (b.wafer, b.x, b.y)) for (n, _), b in zip(rows, out, strict=True)])
    return out
