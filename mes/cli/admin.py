"""`pkgline db|route|tool|alarm|audit …`: the line's housekeeping verbs."""

from __future__ import annotations

import argparse
from pathlib import Path

from mes.cli import tools as tool_cli
from mes.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    actor_from,
    emit,
    engine_from,
    read_password,
    table,
)
from mes.services import audit, plating, reads, routes, tools, users
from mes.services.tx import transaction
from mes.store import migrate


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database: init, upgrade, current")
    dsub = db.add_subparsers(dest="db_cmd", required=True)
    init = dsub.add_parser(
        "init", help="migrate the schema to head and, on an empty database, add the first admin"
    )
    init.add_argument("--admin", default="admin", help="name of the first admin user")
    init.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the first admin's password from standard input (else asked on the terminal)",
    )
    dsub.add_parser("upgrade", help="migrate the schema to this pkgline's newest revision")
    dsub.add_parser("current", help="the schema revision of the database")

    route = sub.add_parser("route", help="routes: import")
    rsub = route.add_subparsers(dest="route_cmd", required=True)
    ri = rsub.add_parser("import", help="import a route file (engineer)")
    ri.add_argument("file", type=Path)

    tool = sub.add_parser("tool", help="tools: list, set-state, maintain, qualify, quals")
    tsub = tool.add_subparsers(dest="tool_cmd", required=True)
    tsub.add_parser("list", help="tools with E10 state and live values")
    tm = tsub.add_parser("maintain", help="record a plating bath make-up (amp-hours to zero)")
    tm.add_argument("tool_id")
    tm.add_argument("--reason", required=True)
    ts = tsub.add_parser("set-state", help="move a tool to an E10 state, with a reason")
    ts.add_argument("tool_id")
    ts.add_argument("state")
    ts.add_argument("--reason", required=True)
    tool_cli.add_parsers(tsub)

    alarm = sub.add_parser("alarm", help="alarms: list")
    asub = alarm.add_subparsers(dest="alarm_cmd", required=True)
    al = asub.add_parser("list", help="latest alarms")
    al.add_argument("--limit", type=int, default=50)

    aud = sub.add_parser("audit", help="audit trail: verify, list")
    ausub = aud.add_subparsers(dest="audit_cmd", required=True)
    av = ausub.add_parser("verify", help="check the hash chain; exit 1 if a record was altered")
    av.add_argument(
        "--anchor",
        help="SEQ:HASH printed by an earlier verify: also detects records removed from the end",
    )
    lst = ausub.add_parser("list", help="latest audit records")
    lst.add_argument("--limit", type=int, default=30)


def run_db(args: argparse.Namespace) -> int:
    """`db current` only reads; `db upgrade` and `db init` migrate and say from where to where."""
    engine = engine_from(args, upgrade=False)
    if args.db_cmd == "current":
        rev, head = migrate.current(engine), migrate.head()
        legacy = rev is None and migrate.is_legacy(engine)
        if rev == head:
            text = f"{rev} (head)"
        elif rev is not None:
            text = f"{rev}; this pkgline's head is {head}: run 'pkgline db upgrade'"
        elif legacy:
            text = "no revision: tables from before migrations; 'pkgline db upgrade' stamps them"
        else:
            text = f"no revision: an empty database; 'pkgline db upgrade' creates {head}"
        emit(args, text, {"current": rev, "head": head, "legacy": legacy})
        return EXIT_OK
    result = migrate.upgrade(engine)
    schema = _describe(result)
    if args.db_cmd == "upgrade":
        emit(args, schema, {"before": result.before, "after": result.after})
        return EXIT_OK
    password = (
        read_password(args, f"password for the first admin {args.admin}: ", confirm=True)
        if users.is_empty(engine)
        else None
    )
    created = users.bootstrap(engine, args.admin, password=password)
    emit(
        args,
        schema + (f"; first admin {args.admin!r} created" if created else ""),
        {"before": result.before, "after": result.after, "admin_created": created},
    )
    return EXIT_OK


def _describe(result: migrate.Upgrade) -> str:
    stamped = f"tables without a revision stamped {result.before}; " if result.stamped else ""
    if result.before == result.after:
        return f"{stamped}schema at {result.after} (head), nothing to do"
    return f"{stamped}schema {result.before or 'empty'} → {result.after}"


def run(args: argparse.Namespace) -> int:
    if args.command == "db":
        return run_db(args)
    engine = engine_from(args)
    if args.command == "route":
        r = routes.import_file(engine, actor_from(args), args.file)
        emit(
            args,
            f"route {r.name}: " + " → ".join(s.name for s in r.steps),
            {"name": r.name, "steps": [s.name for s in r.steps]},
        )
    elif args.command == "tool":
        if args.tool_cmd in tool_cli.COMMANDS:
            return tool_cli.run(args, engine)
        if args.tool_cmd == "maintain":
            t = plating.maintain_bath(engine, actor_from(args), args.tool_id, args.reason)
            emit(args, f"tool {t.id}: bath made up, {t.e10_state}", {"tool": t.id, "bath_ah": 0.0})
        elif args.tool_cmd == "set-state":
            t = tools.set_state(engine, actor_from(args), args.tool_id, args.state, args.reason)
            emit(args, f"tool {t.id} is {t.e10_state}", {"tool": t.id, "e10_state": t.e10_state})
        else:
            tool_rows = reads.tools(engine)
            emit(
                args,
                table(
                    ["tool", "type", "E10", "online", "run", "lot", "daemon"],
                    [
                        [
                            t.id,
                            t.type,
                            t.e10_state,
                            "yes" if t.online else "no",
                            str(t.run_id or ""),
                            t.lot_id or "",
                            t.lease_owner or "",
                        ]
                        for t in tool_rows
                    ],
                ),
                [t.__dict__ for t in tool_rows],
            )
    elif args.command == "alarm":
        rows = reads.alarms(engine, args.limit)
        emit(
            args,
            "\n".join(
                f"{a.ts:%Y-%m-%d %H:%M:%S}  {a.tool_id}  {a.lot_id or '-'}  [{a.kind}] {a.message}"
                for a in rows
            )
            or "no alarms",
            [a.model_dump() for a in rows],
        )
    elif args.command == "audit":
        with transaction(engine) as s:
            if args.audit_cmd == "verify":
                result = audit.verify(s, args.anchor)
                text = (
                    f"audit trail intact: {result.records} records; anchor {result.anchor}"
                    if result.ok
                    else "audit trail TAMPERED:\n" + "\n".join(result.problems)
                )
                emit(
                    args,
                    text,
                    {
                        "records": result.records,
                        "problems": result.problems,
                        "anchor": result.anchor,
                    },
                )
                return EXIT_OK if result.ok else EXIT_FAILED
            from sqlmodel import col, select

            from mes.store.tables import Audit

            records = list(s.exec(select(Audit).order_by(col(Audit.seq).desc()).limit(args.limit)))
            emit(
                args,
                "\n".join(
                    f"{a.seq:>6}  {a.ts:%Y-%m-%d %H:%M:%S}  {a.actor:<10} {a.action:<16} "
                    f"{a.entity}:{a.entity_id}  {a.reason or ''}"
                    for a in reversed(records)
                ),
                [a.model_dump() for a in records],
            )
    return EXIT_OK
