"""`pkgline wafer …`: a wafer's thermal ledger, history, scrap, die and bin maps, trace."""

from __future__ import annotations

import argparse
from pathlib import Path

from mes.cli.common import EXIT_OK, CliError, actor_from, emit, engine_from, table
from mes.domain.diemap import parse_bin_map, parse_die_map
from mes.domain.e142_read import read_bin_map
from mes.services import diemaps, genealogy, ledger, plating


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("wafer", help="wafers: ledger, history, scrap, die/bin maps, trace")
    wsub = p.add_subparsers(dest="wafer_cmd", required=True)
    w = wsub.add_parser("show", help="one wafer's process record: thermal steps (α, Tg), platings")
    w.add_argument("wafer_id")
    h = wsub.add_parser("history", help="the wafer's lots, events and die sources")
    h.add_argument("wafer_id")
    sc = wsub.add_parser("scrap", help="scrap one wafer, with a reason")
    sc.add_argument("wafer_id")
    sc.add_argument("--reason", required=True)
    dm = wsub.add_parser(
        "diemap", help="record die maps at pick & place: CSV wafer,x,y,source_wafer[,source_x,…]"
    )
    dm.add_argument("file", type=Path)
    bm = wsub.add_parser(
        "binmap", help="record test bins: CSV wafer,x,y,bin, or a SEMI E142 substrate map (XML)"
    )
    bm.add_argument("file", type=Path)
    mp = wsub.add_parser("map", help="draw the wafer's die map with its bins")
    mp.add_argument("wafer_id")
    mp.add_argument(
        "--e142",
        metavar="FILE",
        type=Path,
        help="write the bin map as a SEMI E142 substrate map (XML) to FILE ('-': stdout)",
    )
    tr = wsub.add_parser("trace", help="where the dies of a device wafer went")
    tr.add_argument("source_wafer")


def _read(path: Path) -> str:
    """The file's text: UTF-8, with or without the byte-order mark some tools write."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    cmd = args.wafer_cmd
    if cmd == "show":
        show(args)
    elif cmd == "history":
        t = genealogy.wafer_trace(engine, args.wafer_id)
        lines = [
            f"wafer {t.wafer.id}  slot {t.wafer.slot}  status {t.wafer.status}"
            + (f" ({t.wafer.scrap_reason})" if t.wafer.scrap_reason else "")
            + (f"  {t.where}" if t.where else ""),
            "holds: " + ("; ".join(t.holds) or "none"),
            "lots: " + " → ".join(t.lots),
            "die sources: "
            + (", ".join(f"{k} ({v} dies)" for k, v in t.die_sources.items()) or "no die map"),
            "",
            table(
                ["when", "lot", "step", "event", "by", "detail"],
                [
                    [
                        f"{e.ts:%Y-%m-%d %H:%M:%S}",
                        e.lot_id,
                        e.step,
                        e.event,
                        e.actor,
                        e.detail or "",
                    ]
                    for e in t.events
                ],
            ),
        ]
        emit(
            args,
            "\n".join(lines),
            {
                "wafer": t.wafer.model_dump(),
                "where": t.where,
                "holds": list(t.holds),
                "lots": t.lots,
                "die_sources": t.die_sources,
                "events": [e.model_dump() for e in t.events],
            },
        )
    elif cmd == "scrap":
        w = genealogy.scrap(engine, actor_from(args), args.wafer_id, args.reason)
        emit(args, f"wafer {w.id} scrapped: {w.scrap_reason}", {"wafer": w.id})
    elif cmd == "diemap":
        placements = parse_die_map(_read(args.file), str(args.file))
        counts = diemaps.record_die_map(engine, actor_from(args), placements)
        emit(
            args,
            f"die maps recorded: {sum(counts.values())} dies on {len(counts)} wafer(s)",
            counts,
        )
    elif cmd == "binmap":
        text = _read(args.file)
        # An E142 map is XML; anything else is read as the CSV.
        read = read_bin_map if text.lstrip().startswith("<") else parse_bin_map
        bins = read(text, str(args.file))
        summary = diemaps.record_bin_map(engine, actor_from(args), bins)
        emit(
            args,
            "\n".join(
                f"{w}: " + ", ".join(f"bin {b}: {n}" for b, n in sorted(c.items()))
                for w, c in summary.items()
            ),
            {w: dict(c) for w, c in summary.items()},
        )
    elif cmd == "map" and args.e142 is not None:
        xml = diemaps.e142_map(engine, args.wafer_id)
        if str(args.e142) == "-":
            print(xml, end="")
        else:
            _write(args.e142, xml)
            emit(args, f"wrote {args.e142}: E142 substrate map of {args.wafer_id}", {})
    elif cmd == "map":
        m = diemaps.wafer_map(engine, args.wafer_id)
        emit(args, m.render(), [d.model_dump() for d in m.dies])
    else:
        uses = diemaps.source_trace(engine, args.source_wafer)
        emit(
            args,
            table(
                ["wafer", "lot", "status", "dies", "bins"],
                [
                    [
                        u.wafer_id,
                        u.lot_id,
                        u.status,
                        str(u.dies),
                        ", ".join(f"{b}:{n}" for b, n in u.bins.items()),
                    ]
                    for u in uses
                ],
            )
            if uses
            else f"no die of {args.source_wafer} is on a recorded wafer",
            [u.__dict__ for u in uses],
        )
    return EXIT_OK


def show(args: argparse.Namespace) -> None:
    """The wafer's record of process: every thermal step (α, Tg) and every plating."""
    engine = engine_from(args)
    genealogy.wafer_trace(engine, args.wafer_id)  # NotFound for an unknown wafer
    thermal = ledger.history(engine, args.wafer_id)
    plated = plating.records_of_wafer(engine, args.wafer_id)
    parts = [
        table(
            [
                "step",
                "run",
                "material",
                "α before",
                "α after",
                "Tg °C",
                "time > Tg",
                "peak °C",
                "gaps",
            ],
            [
                [
                    e.step,
                    str(e.run_id),
                    e.material,
                    f"{e.alpha_before:.3f}",
                    f"{e.alpha_after:.3f}",
                    f"{e.tg_after_c:.1f}",
                    f"{e.time_above_tg_s / 60:.1f} min",
                    f"{e.peak_c:.1f}",
                    str(e.gaps),
                ]
                for e in thermal
            ],
        )
        if thermal
        else f"wafer {args.wafer_id}: no thermal history yet"
    ]
    if plated:
        parts.append(
            table(
                ["step", "run", "cell", "charge C", "η", "thickness µm", "measured µm", "gaps"],
                [
                    [
                        r.step,
                        str(r.run_id),
                        str(r.cell),
                        f"{r.charge_c:.1f}",
                        f"{r.eta:.3f}",
                        f"{r.thickness_um:.2f}",
                        "" if r.measured_um is None else f"{r.measured_um:.2f}",
                        str(r.gaps)
                        + (f" ({r.unverified_s:.0f} s unconfirmed)" if r.unverified_s else ""),
                    ]
                    for r in plated
                ],
            )
        )
    emit(
        args,
        "\n\n".join(parts),
        {
            "wafer": args.wafer_id,
            "thermal": [e.model_dump() for e in thermal],
            "plating": [r.model_dump() for r in plated],
        },
    )
