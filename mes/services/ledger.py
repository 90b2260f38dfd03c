"""The thermal ledger: every wafer's cure state across runs (mold, PMC, dielectric cures)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.services.tx import transaction
from mes.store.tables import CureEntry, Material, Recipe, Run, Wafer


@dataclass(frozen=True)
class CureRecord:
    """What the engine computed for one wafer in one run."""

    wafer_id: str
    material: str
    alpha_before: float
    alpha_after: float
    tg_after_c: float
    time_above_tg_s: float
    peak_c: float
    gaps: int = 0


@dataclass(frozen=True)
class WaferCureInput:
    """A wafer entering a thermal step: its material, its α so far, the α it must reach."""

    wafer_id: str
    material: str
    material_body: str
    alpha: float
    alpha_target: float | None  # set when this run is the wafer's post-mold cure


@dataclass(frozen=True)
class WaferCure:
    wafer_id: str
    slot: int
    material: str | None
    alpha: float | None
    tg_c: float | None
    cures: int
    time_above_tg_s: float
    last_step: str | None


def write_entries(s: Session, run: Run, records: list[CureRecord]) -> None:
    """Append the run's cure records in the caller's transaction."""
    assert run.id is not None
    for r in records:
        s.add(
            CureEntry(
                wafer_id=r.wafer_id,
                run_id=run.id,
                step=run.step,
                material=r.material,
                alpha_before=r.alpha_before,
                alpha_after=r.alpha_after,
                tg_after_c=r.tg_after_c,
                time_above_tg_s=r.time_above_tg_s,
                peak_c=r.peak_c,
                gaps=r.gaps,
            )
        )
        wafer = s.get(Wafer, r.wafer_id)
        if wafer is not None and wafer.material is None:
            wafer.material = r.material
            s.add(wafer)


def _latest(s: Session, wafer_id: str) -> CureEntry | None:
    return s.exec(
        select(CureEntry).where(CureEntry.wafer_id == wafer_id).order_by(col(CureEntry.id).desc())
    ).first()


def inputs_for(
    s: Session, lot_id: str, recipe_name: str, pmc_target: dict[str, float]
) -> list[WaferCureInput]:
    """Cure inputs of a lot's molded wafers for a run of `recipe_name`.

    `pmc_target` maps a molding recipe name to its α target after PMC when that
    recipe names `recipe_name` as its post-mold cure (resolved by the caller).
    Wafers never molded (no material) are not in the ledger and are skipped.
    """
    out = []
    for wafer in s.exec(select(Wafer).where(Wafer.lot_id == lot_id).order_by(col(Wafer.slot))):
        if wafer.material is None or wafer.status != "active":
            continue
        material = s.get(Material, wafer.material)
        last = _latest(s, wafer.id)
        if material is None or last is None:
            continue
        mold = s.exec(
            select(Run)
            .join(CureEntry, col(CureEntry.run_id) == col(Run.id))
            .where(CureEntry.wafer_id == wafer.id)
            .order_by(col(CureEntry.id))
        ).first()
        target = pmc_target.get(mold.recipe_name) if mold else None
        out.append(WaferCureInput(wafer.id, material.name, material.body, last.alpha_after, target))
    return out


def mold_recipes_of(s: Session, lot_id: str) -> list[Recipe]:
    """The molding recipes the lot's wafers were molded with."""
    runs = s.exec(
        select(Run)
        .join(CureEntry, col(CureEntry.run_id) == col(Run.id))
        .join(Wafer, col(Wafer.id) == col(CureEntry.wafer_id))
        .where(Wafer.lot_id == lot_id)
    ).all()
    out = {}
    for run in runs:
        row = s.exec(
            select(Recipe).where(
                Recipe.name == run.recipe_name, Recipe.version == run.recipe_version
            )
        ).first()
        if row is not None and row.kind == "muf":
            out[(row.name, row.version)] = row
    return list(out.values())


def cure_states(engine: Engine, lot_id: str) -> list[WaferCure]:
    """Each wafer of the lot with its latest α, Tg, number of cures and time above Tg."""
    with transaction(engine) as s:
        out = []
        for wafer in s.exec(select(Wafer).where(Wafer.lot_id == lot_id).order_by(col(Wafer.slot))):
            entries = list(
                s.exec(
                    select(CureEntry)
                    .where(CureEntry.wafer_id == wafer.id)
                    .order_by(col(CureEntry.id))
                )
            )
            last = entries[-1] if entries else None
            out.append(
                WaferCure(
                    wafer.id,
                    wafer.slot,
                    wafer.material,
                    last.alpha_after if last else None,
                    last.tg_after_c if last else None,
                    len(entries),
                    sum(e.time_above_tg_s for e in entries),
                    last.step if last else None,
                )
            )
        return out


def history(engine: Engine, wafer_id: str) -> list[CureEntry]:
    with transaction(engine) as s:
        return list(
            s.exec(
                select(CureEntry).where(CureEntry.wafer_id == wafer_id).order_by(col(CureEntry.id))
            )
        )
