"""Plating: per-wafer thickness records, bath life, and η learned from metrology."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.domain.equipment import E10State
from mes.domain.errors import InvalidInput, InvalidState, NotFound
from mes.domain.lots import check_reason
from mes.domain.roles import Permission
from mes.services import audit
from mes.services.auth import authorize
from mes.services.tools import change_state
from mes.services.tx import transaction
from mes.store.tables import PlatingRecord, Recipe, Run, Tool, Wafer
from recipes.faraday import MAX_UNVERIFIED_S, update_eta
from recipes.plating import parse_plating_recipe


@dataclass(frozen=True)
class WaferPlating:
    """What the engine computed for one wafer: written with the run's verdict."""

    wafer_id: str
    cell: int
    charge_c: float
    eta: float
    thickness_um: float
    thickness_eta1_um: float
    gaps: int = 0
    unverified_s: float = 0.0  # tool time of current holes its measured ends did not confirm


def unconfirmed(record: PlatingRecord) -> bool:
    """True when too much of the wafer's charge was bridged without confirmation: it is
    named for metrology, and its thickness does not teach η."""
    return record.unverified_s > MAX_UNVERIFIED_S


def bath_blocks(tool: Tool) -> str | None:
    """Why the tool may not start another run because of its bath, or None."""
    if tool.bath_limit_ah is not None and tool.bath_ah >= tool.bath_limit_ah:
        return (
            f"tool {tool.id}: bath life reached ({tool.bath_ah:.1f} of {tool.bath_limit_ah:g} A·h);"
            " record the bath maintenance first"
        )
    return None


def write_records(s: Session, run: Run, records: list[WaferPlating], tool: Tool) -> None:
    """In the run's finishing transaction: the wafers' records and the bath's amp-hours."""
    assert run.id is not None
    for r in records:
        s.add(
            PlatingRecord(
                wafer_id=r.wafer_id,
                run_id=run.id,
                step=run.step,
                cell=r.cell,
                charge_c=r.charge_c,
                eta=r.eta,
                thickness_um=r.thickness_um,
                thickness_eta1_um=r.thickness_eta1_um,
                gaps=r.gaps,
                unverified_s=r.unverified_s,
            )
        )
    if records:
        tool.bath_ah += sum(r.charge_c for r in records) / 3600.0
        if bath_blocks(tool):
            change_state(
                s, tool, E10State.SCHEDULED_DOWN, run.requested_by, "bath life reached", run.id
            )


def current_eta(s: Session, tool_id: str, recipe_eta: float) -> float:
    tool = s.get(Tool, tool_id)
    return tool.eta if tool is not None and tool.eta is not None else recipe_eta


def maintain_bath(engine: Engine, actor: str, tool_id: str, reason: str) -> Tool:
    """Record a bath make-up: amp-hours back to zero and, if the tool was scheduled down
    (for its bath life, or any planned maintenance), back to standby. A tool down for
    another reason (an alarm: unscheduled down; engineering) keeps that state: a fresh
    bath does not clear it."""
    reason = check_reason(reason)
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.TOOL_STATE)
        # Lock the row: a track-in claiming the tool at this moment waits for the make-up.
        tool = s.get(Tool, tool_id, with_for_update=True, populate_existing=True)
        if tool is None:
            raise NotFound(f"tool {tool_id!r} does not exist")
        if tool.type != "plating_tool":
            raise InvalidInput(f"tool {tool_id} is a {tool.type}; it has no bath")
        if tool.run_id is not None:
            raise InvalidState(f"tool {tool_id} has run {tool.run_id} in progress")
        before = {"bath_ah": round(tool.bath_ah, 3), "e10_state": tool.e10_state, "eta": tool.eta}
        tool.bath_ah = 0.0
        tool.eta = None  # a fresh bath: η starts again from the recipe's value
        tool.eta_ratios_json = None
        if tool.e10_state == E10State.SCHEDULED_DOWN:
            change_state(s, tool, E10State.STANDBY, actor, reason)
        s.add(tool)
        audit.record(
            s,
            actor,
            "tool.bath_maintenance",
            "tool",
            tool_id,
            reason=reason,
            before=before,
            after={"bath_ah": 0.0, "e10_state": tool.e10_state},
        )
        return tool


def set_bath_limit(engine: Engine, actor: str, tool_id: str, limit_ah: float | None) -> None:
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.TOOL_REGISTER)
        tool = s.get(Tool, tool_id)
        if tool is None:
            raise NotFound(f"tool {tool_id!r} does not exist")
        if tool.bath_limit_ah != limit_ah:
            audit.record(
                s,
                actor,
                "tool.bath_limit",
                "tool",
                tool_id,
                before={"bath_limit_ah": tool.bath_limit_ah},
                after={"bath_limit_ah": limit_ah},
            )
            tool.bath_limit_ah = limit_ah
            s.add(tool)


@dataclass(frozen=True)
class MetrologyResult:
    wafers: int
    measured_um: float
    computed_um: float
    eta_before: float
    eta_after: float
    learned_from: int  # records whose charge was measured enough to teach η
    remeasured: int = 0  # records that had a measurement already: corrected, not taught again

    @property
    def eta_note(self) -> str:
        """Why η did not move, or '' when it learned."""
        if self.learned_from:
            return ""
        if self.remeasured == self.wafers:
            return "; η not learned again: these wafers were measured before (value corrected)"
        return "; η not learned: no wafer's charge was measured enough (holes not confirmed)"


def record_metrology(
    engine: Engine, actor: str, lot_id: str, thickness_um: float, wafer_id: str | None = None
) -> MetrologyResult:
    """Enter measured thickness for the lot's last plating run; learn η (bounded moving average)."""
    if not 0 < thickness_um <= 100:
        raise InvalidInput(f"thickness = {thickness_um} µm: must be in (0, 100]")
    with transaction(engine) as s:
        authorize(engine, s, actor, Permission.LOT_MOVE)
        last = s.exec(
            select(PlatingRecord)
            .join(Wafer, col(Wafer.id) == col(PlatingRecord.wafer_id))
            .where(Wafer.lot_id == lot_id)
            .order_by(col(PlatingRecord.run_id).desc())
        ).first()
        if last is None:
            raise NotFound(f"lot {lot_id} has no plating record to compare with")
        q = select(PlatingRecord).where(PlatingRecord.run_id == last.run_id)
        if wafer_id is not None:
            q = q.where(PlatingRecord.wafer_id == wafer_id)
        records = list(s.exec(q))
        if not records:
            raise NotFound(f"wafer {wafer_id!r} was not plated in run {last.run_id}")
        run = s.get(Run, last.run_id)
        assert run is not None
        recipe_row = s.exec(
            select(Recipe).where(
                Recipe.name == run.recipe_name, Recipe.version == run.recipe_version
            )
        ).one()
        eff = parse_plating_recipe(recipe_row.body, recipe_row.name).efficiency
        tool = s.get(Tool, run.tool_id)
        assert tool is not None
        ratios: list[float] = json.loads(tool.eta_ratios_json or "[]")
        eta_before = eta_after = tool.eta if tool.eta is not None else eff.eta
        computed = sum(r.thickness_um for r in records) / len(records)
        # η learns only from charges that were measured (holes confirmed at both ends), and
        # once per wafer and run: a second entry corrects the value but is not a new sample.
        remeasured = [r for r in records if r.measured_um is not None]
        earlier = sorted({r.measured_um for r in remeasured if r.measured_um is not None})
        teach = [r for r in records if not unconfirmed(r) and r.measured_um is None]
        if teach:
            theoretical = sum(r.thickness_eta1_um for r in teach) / len(teach)
            eta_after = update_eta(
                ratios, thickness_um, theoretical, eff.eta_window, eff.eta_min, eff.eta_max
            )
            ratios = ([*ratios, thickness_um / theoretical])[-eff.eta_window :]
        for r in records:
            r.measured_um = thickness_um
            s.add(r)
        if teach:
            tool.eta = eta_after
            tool.eta_ratios_json = json.dumps(ratios)
            s.add(tool)
        audit.record(
            s,
            actor,
            "metrology",
            "lot",
            lot_id,
            before={"eta": round(eta_before, 4)} | ({"measured_um": earlier} if earlier else {}),
            after={
                "eta": round(eta_after, 4),
                "measured_um": thickness_um,
                "computed_um": round(computed, 3),
                "run_id": run.id,
                "learned_from": len(teach),
                "remeasured": len(remeasured),
            },
        )
        return MetrologyResult(
            len(records),
            thickness_um,
            computed,
            eta_before,
            eta_after,
            len(teach),
            len(remeasured),
        )


def records_of(engine: Engine, lot_id: str) -> list[PlatingRecord]:
    with transaction(engine) as s:
        return list(
            s.exec(
                select(PlatingRecord)
                .join(Wafer, col(Wafer.id) == col(PlatingRecord.wafer_id))
                .where(Wafer.lot_id == lot_id)
                .order_by(col(PlatingRecord.id))
            )
        )


def records_of_wafer(engine: Engine, wafer_id: str) -> list[PlatingRecord]:
    """Every plating of one wafer, whatever lot it was in, oldest first."""
    with transaction(engine) as s:
        return list(
            s.exec(
                select(PlatingRecord)
                .where(PlatingRecord.wafer_id == wafer_id)
                .order_by(col(PlatingRecord.id))
            )
        )
