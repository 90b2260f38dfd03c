"""`pkgline lot …`: create, list, show, track-in, track-out, metrology (holds and
genealogy verbs in lot_holds)."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from mes.cli.common import EXIT_OK, actor_from, emit, engine_from, table
from mes.cli.lot_holds import CODES, GENEALOGY_VERBS, genealogy_verb, hold_verb
from mes.services import ledger, lots, plating, reads
from mes.services.lookup import hold_wafers


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("lot", help="lots: create, list, show, track in/out, hold, release")
    lsub = p.add_subparsers(dest="lot_cmd", required=True)
    c = lsub.add_parser("create", help="start a lot at the first step of a route")
    c.add_argument("lot_id")
    c.add_argument("--route", required=True)
    c.add_argument("--wafers", type=int, default=25)
    c.add_argument("--product", default="FOWLP")
    lsub.add_parser("list", help="all lots with step and status")
    s = lsub.add_parser("show", help="one lot: step, holds, runs, alarms")
    s.add_argument("lot_id")
    ti = lsub.add_parser("track-in", help="track a lot in at its current step")
    ti.add_argument("lot_id")
    ti.add_argument("--tool", help="the tool, for an automated step")
    to = lsub.add_parser("track-out", help="track a lot out of a manual step")
    to.add_argument("lot_id")
    m = lsub.add_parser(
        "metrology", help="enter measured Cu thickness; the tool's η learns from it"
    )
    m.add_argument("lot_id")
    m.add_argument("--thickness-um", type=float, required=True)
    m.add_argument("--wafer", help="the measured wafer (default: the lot's last plated wafers)")
    h = lsub.add_parser("hold", help="hold a lot (or some of its wafers) with a reason code")
    h.add_argument("lot_id")
    h.add_argument("--reason", required=True)
    h.add_argument("--code", default="operator", help=f"one of: {CODES} (default operator)")
    h.add_argument("--wafer", action="append", help="hold only this wafer (id or slot); repeat")
    r = lsub.add_parser("release", help="release a lot's holds (the code names who may)")
    r.add_argument("lot_id")
    r.add_argument("--reason", required=True)
    r.add_argument("--hold", type=int, action="append", help="release only this hold id; repeat")
    f = lsub.add_parser("future-hold", help="hold the lot when it reaches a later step")
    f.add_argument("lot_id")
    f.add_argument("--step", required=True)
    f.add_argument("--reason", required=True)
    f.add_argument("--code", default="engineering", help=f"one of: {CODES}")
    fc = lsub.add_parser("future-cancel", help="cancel a pending future hold")
    fc.add_argument("future_hold_id", type=int)
    fc.add_argument("--reason", required=True)
    sp = lsub.add_parser("split", help="move some wafers of a waiting lot into a child lot")
    sp.add_argument("lot_id")
    sp.add_argument("--wafer", action="append", required=True, help="id or slot; repeat")
    sp.add_argument("--child", help="the child lot id (default LOT.n)")
    sp.add_argument("--reason", required=True)
    mg = lsub.add_parser("merge", help="bring every wafer of SOURCE into TARGET (same step)")
    mg.add_argument("target")
    mg.add_argument("source")
    mg.add_argument("--reason", required=True)
    rw = lsub.add_parser("rework", help="send a lot back to an earlier step (engineer)")
    rw.add_argument("lot_id")
    rw.add_argument("--step", required=True)
    rw.add_argument("--reason", required=True)
    g = lsub.add_parser("genealogy", help="splits and merges before and after a lot")
    g.add_argument("lot_id")


READ_ONLY = frozenset({"list", "show", "genealogy"})


def run(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    cmd = args.lot_cmd
    actor = "" if cmd in READ_ONLY else actor_from(args)  # reading needs no login
    if cmd == "create":
        lot = lots.create(engine, actor, args.lot_id, args.route, args.wafers, args.product)
        emit(
            args,
            f"lot {lot.id} created on route {lot.route} ({lot.wafers} wafers)",
            {"lot": lot.id, "route": lot.route, "wafers": lot.wafers},
        )
    elif cmd == "list":
        rows = reads.lots(engine)
        emit(
            args,
            table(
                ["lot", "step", "status", "wafers", "tool", "hold"],
                [
                    [
                        r.id,
                        f"{r.step} ({r.step_index + 1}/{r.steps})",
                        r.status,
                        str(r.wafers),
                        r.tool_id or "",
                        r.hold_reason or "",
                    ]
                    for r in rows
                ],
            ),
            [asdict(r) for r in rows],
        )
    elif cmd == "show":
        show(args, engine, args.lot_id)
    elif cmd == "track-in":
        res = lots.track_in(engine, actor, args.lot_id, args.tool)
        where = f"on {res.tool_id} (run {res.run_id})" if res.tool_id else "(manual step)"
        emit(args, f"lot {res.lot_id} tracked in at {res.step} {where}", asdict(res))
    elif cmd == "track-out":
        lot = lots.track_out(engine, actor, args.lot_id)
        row = reads.lot(engine, lot.id)
        assert row is not None
        emit(args, f"lot {lot.id} tracked out; now {row.status} at {row.step}", asdict(row))
    elif cmd == "metrology":
        m = plating.record_metrology(engine, actor, args.lot_id, args.thickness_um, args.wafer)
        emit(
            args,
            f"lot {args.lot_id}: measured {m.measured_um:g} µm, computed {m.computed_um:.2f} µm "
            f"on {m.wafers} wafer(s); η {m.eta_before:.3f} → {m.eta_after:.3f}{m.eta_note}",
            asdict(m),
        )
    elif cmd in GENEALOGY_VERBS:
        genealogy_verb(args, engine, actor)
    else:
        hold_verb(args, engine, actor)
    return EXIT_OK


def show(args: argparse.Namespace, engine: object, lot_id: str) -> None:
    from sqlalchemy.engine import Engine

    from mes.domain.errors import NotFound

    assert isinstance(engine, Engine)
    row = reads.lot(engine, lot_id)
    if row is None:
        raise NotFound(f"lot {lot_id!r} does not exist")
    run_rows = reads.runs(engine, lot_id)
    hold_rows = reads.holds(engine, lot_id)
    alarm_rows = reads.alarms(engine, limit=200, lot_id=lot_id)
    cures = ledger.cure_states(engine, lot_id)
    plated = plating.records_of(engine, lot_id)
    lines = [
        f"lot {row.id}  product {row.product}  route {row.route}  wafers {row.wafers}",
        f"step {row.step} ({row.step_index + 1}/{row.steps})  status {row.status}"
        + (f"  ON HOLD: {row.hold_reason}" if row.on_hold else ""),
        "",
        "runs:",
        table(
            ["run", "tool", "step", "recipe", "status", "outcome", "samples", "reason"],
            [
                [
                    str(r.id),
                    r.tool_id,
                    r.step,
                    r.recipe,
                    r.status,
                    r.outcome or "",
                    str(r.samples),
                    r.reason or "",
                ]
                for r in run_rows
            ],
        ),
        "",
        "holds:",
        table(
            ["hold", "code", "on", "placed by", "reason", "released by", "release reason"],
            [
                [
                    str(h.id),
                    h.code,
                    "lot" if (named := hold_wafers(h)) is None else ",".join(named),
                    h.placed_by,
                    h.reason,
                    h.released_by or "",
                    h.release_reason or "",
                ]
                for h in hold_rows
            ],
        ),
        "",
        "wafers (thermal ledger):",
        table(
            ["wafer", "slot", "material", "α", "Tg °C", "cures", "time > Tg", "last step"],
            [
                [
                    w.wafer_id,
                    str(w.slot),
                    w.material or "",
                    _f(w.alpha, 3),
                    _f(w.tg_c, 1),
                    str(w.cures),
                    f"{w.time_above_tg_s / 60:.1f} min",
                    w.last_step or "",
                ]
                for w in cures
            ],
        ),
        "",
        "plating (charge integrated from the measured current):",
        table(
            ["wafer", "step", "cell", "charge C", "η", "thickness µm", "measured µm", "gaps"],
            [
                [
                    p.wafer_id,
                    p.step,
                    str(p.cell),
                    f"{p.charge_c:.0f}",
                    f"{p.eta:.3f}",
                    f"{p.thickness_um:.2f}",
                    _f(p.measured_um, 2),
                    str(p.gaps),
                ]
                for p in plated
            ],
        ),
        "",
        f"alarms ({len(alarm_rows)}):",
        *[f"  [{a.kind}] {a.message}" for a in reversed(alarm_rows)],
    ]
    emit(
        args,
        "\n".join(lines),
        {
            "lot": asdict(row),
            "runs": [asdict(r) for r in run_rows],
            "holds": [h.model_dump() for h in hold_rows],
            "alarms": [a.model_dump() for a in alarm_rows],
            "wafers": [asdict(w) for w in cures],
            "plating": [p.model_dump() for p in plated],
        },
    )


def _f(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"
