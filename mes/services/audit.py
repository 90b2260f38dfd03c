"""The audit trail: who did what, when, why, before and after, chained by hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from mes.domain.errors import InvalidInput
from mes.store.tables import Audit, utcnow

GENESIS = "0" * 64


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _digest(prev_hash: str, row: Record | Audit) -> str:
    body = "|".join(
        [
            prev_hash,
            row.ts.isoformat(),
            row.actor,
            row.action,
            row.entity,
            row.entity_id,
            row.reason or "",
            row.before_json or "",
            row.after_json or "",
        ]
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Record:
    """One appended audit record, as hashed and written."""

    ts: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    reason: str | None
    before_json: str | None
    after_json: str | None
    prev_hash: str
    hash: str


_AUDIT = Audit.__table__  # type: ignore[attr-defined]
_LAST_HASH = sa_select(_AUDIT.c.hash).order_by(_AUDIT.c.seq.desc()).limit(1)
_INSERT = insert(_AUDIT)


AUDIT_LOCK = 0x706B676C  # 'pkgl': the advisory lock that orders appends on PostgreSQL


def _serialize_appends(session: Session) -> None:
    """Two transactions must not both chain onto the same last record.

    SQLite already runs writers one at a time (BEGIN IMMEDIATE); on PostgreSQL a
    transaction-scoped advisory lock makes appenders queue until the holder commits.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    *,
    reason: str | None = None,
    before: Any = None,
    after: Any = None,
) -> Record:
    """Append one audit record in the caller's transaction (a plain INSERT: records are
    never updated, so they need no place in the session's unit of work)."""
    _serialize_appends(session)
    conn = session.connection()
    prev = conn.execute(_LAST_HASH).scalar() or GENESIS
    draft = Record(
        ts=utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        reason=reason,
        before_json=_canonical(before),
        after_json=_canonical(after),
        prev_hash=prev,
        hash="",
    )
    row = replace(draft, hash=_digest(prev, draft))
    conn.execute(_INSERT, asdict(row))
    return row


@dataclass(frozen=True)
class VerifyResult:
    records: int
    problems: list[str]
    head_seq: int | None = None
    head_hash: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def anchor(self) -> str | None:
        """'SEQ:HASH' of the last record: kept outside the database, it later proves that no
        record up to it was removed from the end or rewritten along with the chain."""
        return None if self.head_seq is None else f"{self.head_seq}:{self.head_hash}"


def parse_anchor(text: str) -> tuple[int, str]:
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise InvalidInput(f"anchor {text!r}: expected SEQ:HASH as printed by 'audit verify'")
    return int(seq), digest


def verify(session: Session, anchor: str | None = None) -> VerifyResult:
    """Walk the chain; an edited, inserted or deleted row breaks it. With an anchor from an
    earlier verify, also prove the chain still passes through that record unchanged."""
    expected = parse_anchor(anchor) if anchor else None
    problems: list[str] = []
    prev = GENESIS
    n = 0
    last: Audit | None = None
    anchor_seen = False
    for row in session.exec(select(Audit).order_by(col(Audit.seq))):
        n += 1
        if row.prev_hash != prev:
            problems.append(
                f"seq {row.seq}: chain broken (a record before it was removed or altered)"
            )
        if _digest(row.prev_hash, row) != row.hash:
            problems.append(f"seq {row.seq}: content does not match its hash (edited)")
        if expected is not None and row.seq == expected[0]:
            anchor_seen = True
            if row.hash != expected[1]:
                problems.append(f"seq {row.seq}: differs from the anchor (the chain was rewritten)")
        prev = row.hash
        last = row
    if expected is not None and not anchor_seen:
        problems.append(f"seq {expected[0]}: the anchored record is gone (records removed)")
    return VerifyResult(n, problems, last.seq if last else None, last.hash if last else None)
