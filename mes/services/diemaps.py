"""Die maps (recorded at pick & place) and bin maps (from final test), per wafer.

The map is keyed by the wafer's id, which never changes, so it follows the wafer
through splits, merges and every step of the route.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.domain.diemap import DieBin, DiePlacement
from mes.domain.e142 import MapDie, substrate_map
from mes.domain.errors import InvalidInput, InvalidState, NotFound
from mes.domain.roles import Permission
from mes.services import audit, history
from mes.services.auth import authorize
from mes.services.lookup import get_lot
from mes.services.tx import transaction
from mes.store.tables import Wafer, WaferDie, utcnow


def _wafers(s: Session, names: set[str]) -> dict[str, Wafer]:
    found = {w.id: w for w in s.exec(select(Wafer).where(col(Wafer.id).in_(names)))}
    for name in sorted(names):
        w = found.get(name)
        if w is None:
            raise InvalidInput(f"wafer {name!r} does not exist")
        if w.status != "active":
            raise InvalidState(f"wafer {name} is {w.status}")
    return found


def record_die_map(engine: Engine, actor: str, placements: list[DiePlacement]) -> dict[str, int]:
    """Store the die map of each wafer named; a wafer's map is written once (immutable)."""
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_SPLIT)
        wafers = _wafers(s, {p.wafer for p in placements})
        existing = s.exec(
            select(WaferDie.wafer_id).where(col(WaferDie.wafer_id).in_(list(wafers))).distinct()
        ).first()
        if existing is not None:
            raise InvalidState(f"wafer {existing} already has a die map; maps are not rewritten")
        s.add_all(
            WaferDie(
                wafer_id=p.wafer,
                x=p.x,
                y=p.y,
                source_wafer=p.source_wafer,
                source_x=p.source_x,
                source_y=p.source_y,
            )
            for p in placements
        )
        counts = Counter(p.wafer for p in placements)
        for wafer_id, n in sorted(counts.items()):
            lot = get_lot(s, wafers[wafer_id].lot_id)
            sources = sorted({p.source_wafer for p in placements if p.wafer == wafer_id})
            history.record(s, [wafer_id], lot, "diemap", actor, f"{n} dies from {len(sources)}")
            audit.record(
                s,
                actor,
                "wafer.diemap",
                "wafer",
                wafer_id,
                after={"dies": n, "sources": sources},
            )
        return dict(counts)


def record_bin_map(engine: Engine, actor: str, bins: list[DieBin]) -> dict[str, Counter[int]]:
    """Add test bins to placed dies; a position with no placed die refuses the whole file."""
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_SPLIT)
        wafers = _wafers(s, {b.wafer for b in bins})
        dies = {
            (d.wafer_id, d.x, d.y): d
            for d in s.exec(select(WaferDie).where(col(WaferDie.wafer_id).in_(list(wafers))))
        }
        now = utcnow()
        summary: dict[str, Counter[int]] = {}
        rebinned: Counter[str] = Counter()
        # A retest replaces bins; the audit keeps each one it replaced (x, y, old, new).
        changed: dict[str, list[tuple[int, int, int, int]]] = {}
        for b in bins:
            die = dies.get((b.wafer, b.x, b.y))
            if die is None:
                raise InvalidInput(
                    f"bin map: wafer {b.wafer} has no die placed at ({b.x}, {b.y}) in its die map"
                )
            if die.bin is not None:
                rebinned[b.wafer] += 1
                if die.bin != b.bin:
                    changed.setdefault(b.wafer, []).append((b.x, b.y, die.bin, b.bin))
            die.bin = b.bin
            die.binned_at = now
            s.add(die)
            summary.setdefault(b.wafer, Counter())[b.bin] += 1
        for wafer_id, counts in sorted(summary.items()):
            lot = get_lot(s, wafers[wafer_id].lot_id)
            detail = ", ".join(f"bin {k}: {v}" for k, v in sorted(counts.items()))
            history.record(s, [wafer_id], lot, "binmap", actor, detail)
            audit.record(
                s,
                actor,
                "wafer.binmap",
                "wafer",
                wafer_id,
                before={"changed": changed[wafer_id]} if wafer_id in changed else None,
                after={"bins": {str(k): v for k, v in counts.items()}},
                reason=f"retest: {rebinned[wafer_id]} dies re-binned"
                if rebinned[wafer_id]
                else None,
            )
        return summary


@dataclass(frozen=True)
class WaferMap:
    wafer_id: str
    dies: list[WaferDie]

    def render(self) -> str:
        """Rows of y, columns of x: the bin as a digit/letter, '.' placed untested, ' ' empty."""
        if not self.dies:
            return f"wafer {self.wafer_id}: no die map"
        xs = [d.x for d in self.dies]
        ys = [d.y for d in self.dies]
        grid = {(d.x, d.y): d for d in self.dies}
        symbols = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        lines = []
        for y in range(min(ys), max(ys) + 1):
            row = ""
            for x in range(min(xs), max(xs) + 1):
                d = grid.get((x, y))
                if d is None:
                    row += " "
                elif d.bin is None:
                    row += "."
                else:
                    row += symbols[d.bin] if d.bin < len(symbols) else "#"
            lines.append(row.rstrip())
        return "\n".join(lines)


def wafer_map(engine: Engine, wafer_id: str) -> WaferMap:
    with transaction(engine) as s:
        dies = list(
            s.exec(
                select(WaferDie)
                .where(WaferDie.wafer_id == wafer_id)
                .order_by(col(WaferDie.y), col(WaferDie.x))
            )
        )
        return WaferMap(wafer_id, dies)


def die_sources(s: Session, wafer_id: str) -> dict[str, int]:
    rows = s.exec(select(WaferDie.source_wafer).where(WaferDie.wafer_id == wafer_id))
    return dict(sorted(Counter(rows).items()))


@dataclass(frozen=True)
class SourceUse:
    wafer_id: str
    lot_id: str
    status: str
    dies: int
    bins: dict[int, int]


def source_trace(engine: Engine, source_wafer: str) -> list[SourceUse]:
    """Forward genealogy of a device wafer: every reconstituted wafer holding its dies."""
    with transaction(engine) as s:
        dies = list(s.exec(select(WaferDie).where(WaferDie.source_wafer == source_wafer)))
        out = []
        for wafer_id in sorted({d.wafer_id for d in dies}):
            wafer = s.get(Wafer, wafer_id)
            assert wafer is not None
            mine = [d for d in dies if d.wafer_id == wafer_id]
            bins = Counter(d.bin for d in mine if d.bin is not None)
            out.append(
                SourceUse(
                    wafer_id, wafer.lot_id, wafer.status, len(mine), dict(sorted(bins.items()))
                )
            )
        return out


def e142_map(engine: Engine, wafer_id: str) -> str:
    """The wafer's bin map as a SEMI E142 substrate map document (mes.domain.e142)."""
    with transaction(engine) as s:
        wafer = s.get(Wafer, wafer_id)
        if wafer is None:
            raise NotFound(f"wafer {wafer_id!r} does not exist")
        dies = s.exec(select(WaferDie).where(WaferDie.wafer_id == wafer_id))
        return substrate_map(
            wafer.id, wafer.lot_id, wafer.slot, [MapDie(d.x, d.y, d.bin) for d in dies]
        )
