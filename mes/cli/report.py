"""`pkgline report e10`: SEMI E10 time per state and utilization, per tool and period."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from mes.cli.common import EXIT_OK, CliError, emit, engine_from, table
from mes.domain.equipment import E10State
from mes.services import e10


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="reports: e10 (equipment time and utilization)")
    rsub = p.add_subparsers(dest="report_cmd", required=True)
    r = rsub.add_parser("e10", help="hours per E10 state and utilization, per tool")
    r.add_argument("--from", dest="start", help="period start, ISO 8601 UTC (default: 24 h ago)")
    r.add_argument("--to", dest="end", help="period end, ISO 8601 UTC (default: now)")
    r.add_argument("--tool", action="append", help="only this tool (repeat for several)")
    # Also after the verb (`pkgline report e10 --json`); SUPPRESS keeps a global --json.
    r.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON output")


def _when(text: str | None, option: str, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"{option} {text!r}: not an ISO 8601 time (e.g. 2026-11-22T06:00)") from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def run(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    end = min(_when(args.end, "--to", now), now)  # the future has no time to account yet
    start = _when(args.start, "--from", end - timedelta(hours=24))
    if end <= start:
        raise CliError(f"--from {start:%Y-%m-%d %H:%M}: must be before --to {end:%Y-%m-%d %H:%M}")
    rows = e10.report(engine_from(args), start, end, args.tool)
    states = list(E10State)
    emit(
        args,
        f"E10 {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC (hours)\n"
        + table(
            ["tool", *[s.value for s in states], "unknown", "uptime", "op. util", "total util"],
            [
                [
                    r.tool_id,
                    *[f"{r.accounting.seconds[s] / 3600:.2f}" for s in states],
                    f"{r.accounting.unknown_s / 3600:.2f}",
                    _pct(r.accounting.availability),
                    _pct(r.accounting.operational_utilization),
                    _pct(r.accounting.total_utilization),
                ]
                for r in rows
            ],
        ),
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "tools": [
                {
                    "tool": r.tool_id,
                    "type": r.tool_type,
                    "seconds": {s.value: r.accounting.seconds[s] for s in states},
                    "unknown_s": r.accounting.unknown_s,
                    "uptime": r.accounting.availability,
                    "operational_utilization": r.accounting.operational_utilization,
                    "total_utilization": r.accounting.total_utilization,
                }
                for r in rows
            ],
        },
    )
    return EXIT_OK
