"""`pkgline lot hold|release|future-hold|future-cancel|split|merge|rework|genealogy`."""

from __future__ import annotations

import argparse

from sqlalchemy.engine import Engine

from mes.cli.common import emit, table
from mes.domain.holds import HoldCode
from mes.services import genealogy, holds
from mes.services.lookup import hold_wafers, link_wafers

CODES = ", ".join(c.value for c in HoldCode)
GENEALOGY_VERBS = frozenset({"split", "merge", "rework", "genealogy"})


def hold_verb(args: argparse.Namespace, engine: Engine, actor: str) -> None:
    cmd = args.lot_cmd
    if cmd == "hold":
        h = holds.hold(engine, actor, args.lot_id, args.reason, args.code, args.wafer)
        named = hold_wafers(h)
        which = "lot" if named is None else f"wafers {', '.join(named)}"
        emit(
            args,
            f"lot {args.lot_id} on hold ({which}) [{h.code}] {h.reason}; hold {h.id}",
            {"hold_id": h.id, "code": h.code, "reason": h.reason, "wafers": args.wafer},
        )
    elif cmd == "release":
        released = holds.release(engine, actor, args.lot_id, args.reason, args.hold)
        left = holds.active_holds_of(engine, args.lot_id)
        emit(
            args,
            f"lot {args.lot_id}: released {len(released)} hold(s)"
            + (f"; {len(left)} still in force" if left else ""),
            {"released": [h.id for h in released], "remaining": [h.id for h in left]},
        )
    elif cmd == "future-hold":
        fh = holds.future_hold(engine, actor, args.lot_id, args.step, args.reason, args.code)
        emit(
            args,
            f"lot {args.lot_id} will be held at {fh.step} [{fh.code}]; future hold {fh.id}",
            {"future_hold_id": fh.id, "step": fh.step, "code": fh.code},
        )
    elif cmd == "future-cancel":
        fh = holds.cancel_future_hold(engine, actor, args.future_hold_id, args.reason)
        emit(args, f"future hold {fh.id} on lot {fh.lot_id} cancelled", {"future_hold_id": fh.id})


def genealogy_verb(args: argparse.Namespace, engine: Engine, actor: str) -> None:
    cmd = args.lot_cmd
    if cmd == "split":
        child = genealogy.split(engine, actor, args.lot_id, args.wafer, args.reason, args.child)
        emit(
            args,
            f"lot {args.lot_id} split: {child.wafers} wafer(s) now in lot {child.id}",
            {"parent": args.lot_id, "child": child.id, "wafers": child.wafers},
        )
    elif cmd == "merge":
        lot = genealogy.merge(engine, actor, args.target, args.source, args.reason)
        emit(
            args,
            f"lot {args.source} merged into {lot.id} ({lot.wafers} wafers)",
            {"target": lot.id, "source": args.source, "wafers": lot.wafers},
        )
    elif cmd == "rework":
        lot = genealogy.rework(engine, actor, args.lot_id, args.step, args.reason)
        emit(args, f"lot {lot.id} sent back to {args.step}", {"lot": lot.id, "step": args.step})
    else:
        tree = genealogy.lot_tree(engine, args.lot_id)
        rows = [
            [
                tree.side(link),
                f"{link.at:%Y-%m-%d %H:%M}",
                link.kind,
                f"{link.from_lot} → {link.to_lot}",
                link.step,
                ", ".join(link_wafers(link)),
                link.reason,
            ]
            for link in tree.links
        ]
        emit(
            args,
            table(["", "when", "kind", "lots", "step", "wafers", "reason"], rows)
            if rows
            else f"lot {args.lot_id}: never split or merged",
            {
                "ancestors": [x.model_dump() for x in tree.ancestors],
                "descendants": [x.model_dump() for x in tree.descendants],
            },
        )
