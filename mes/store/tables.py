"""SQLModel tables of the MES database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC: SQLModel stores timezone-aware datetimes on both backends."""
    return datetime.now(UTC)


def as_utc(ts: datetime) -> datetime:
    """A stored time as aware UTC (a backend may hand a naive UTC value back)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


class User(SQLModel, table=True):
    name: str = Field(primary_key=True, max_length=64)
    roles: str = Field(description="comma-separated roles")
    password_hash: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Route(SQLModel, table=True):
    name: str = Field(primary_key=True, max_length=64)
    steps_json: str
    created_at: datetime = Field(default_factory=utcnow)


class Recipe(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=64)
    version: int
    kind: str
    body: str
    digest: str
    approved: bool = False
    approved_by: str | None = None
    approved_at: datetime | None = None
    imported_at: datetime = Field(default_factory=utcnow)


class Material(SQLModel, table=True):
    """An EMC grade's cure kinetics, stored as imported (the engine's model input)."""

    name: str = Field(primary_key=True, max_length=64)
    body: str
    digest: str
    imported_at: datetime = Field(default_factory=utcnow)


class Lot(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    product: str
    route: str = Field(foreign_key="route.name")
    step_index: int = 0
    status: str
    wafers: int
    created_at: datetime = Field(default_factory=utcnow)
    step_since: datetime = Field(default_factory=utcnow)
    tool_id: str | None = None
    qtime_deadline: datetime | None = None  # the lot must start its next timed step by then
    qtime_step: str | None = None  # the step the deadline is for


class Wafer(SQLModel, table=True):
    """A reconstituted wafer: its own record, because its dies came from different sources."""

    id: str = Field(primary_key=True, max_length=40)
    lot_id: str = Field(foreign_key="lot.id", index=True)
    slot: int
    status: str = "active"  # active, scrapped
    material: str | None = None  # EMC grade it was molded with
    scrap_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CureEntry(SQLModel, table=True):
    """The thermal ledger: one row per wafer per thermal step (mold, PMC, dielectric cures)."""

    id: int | None = Field(default=None, primary_key=True)
    wafer_id: str = Field(foreign_key="wafer.id", index=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    step: str
    material: str
    alpha_before: float
    alpha_after: float
    tg_after_c: float
    time_above_tg_s: float
    peak_c: float
    gaps: int = 0
    recorded_at: datetime = Field(default_factory=utcnow)


class PlatingRecord(SQLModel, table=True):
    """One wafer plated in one run: charge integrated from the measured current."""

    id: int | None = Field(default=None, primary_key=True)
    wafer_id: str = Field(foreign_key="wafer.id", index=True)
    run_id: int = Field(foreign_key="run.id", index=True)
    step: str
    cell: int
    charge_c: float
    eta: float
    thickness_um: float
    thickness_eta1_um: float  # what the charge gives at 100 % efficiency (for learning η)
    measured_um: float | None = None
    gaps: int = 0
    # Tool time (s) of current holes bridged without confirmation from their measured ends:
    # such a record's charge is partly estimated, and metrology does not learn η from it.
    unverified_s: float = 0.0
    recorded_at: datetime = Field(default_factory=utcnow)


class Hold(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    lot_id: str = Field(foreign_key="lot.id", index=True)
    code: str = "engineering"  # a mes.domain.holds.HoldCode: names the role that may release
    wafer_ids_json: str | None = None  # the held wafers; None holds the whole lot
    reason: str
    placed_by: str
    placed_at: datetime = Field(default_factory=utcnow)
    run_id: int | None = None
    released_by: str | None = None
    released_at: datetime | None = None
    release_reason: str | None = None


class Tool(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    type: str
    e10_state: str
    state_since: datetime = Field(default_factory=utcnow)
    run_id: int | None = None
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    online: bool = False
    last_values_json: str | None = None
    last_seen: datetime | None = None
    bath_ah: float = 0.0  # plating tools: charge through the bath since make-up
    bath_limit_ah: float | None = None
    eta: float | None = None  # plating tools: current efficiency learned from metrology
    eta_ratios_json: str | None = None  # the measured/theoretical ratios behind it


class Run(SQLModel, table=True):
    __table_args__ = (Index("ix_run_tool_status", "tool_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    lot_id: str = Field(foreign_key="lot.id", index=True)
    tool_id: str = Field(foreign_key="tool.id")
    step: str
    recipe_name: str
    recipe_version: int
    status: str
    requested_by: str
    requested_at: datetime = Field(default_factory=utcnow)
    claimed_by: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    start_c: float | None = None
    outcome: str | None = None
    reason: str | None = None
    summary_json: str | None = None


class Sample(SQLModel, table=True):
    __table_args__ = (Index("ix_sample_run_t", "run_id", "t_program"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="run.id")
    t_program: float
    ts: datetime
    name: str = Field(max_length=32)
    value: float | None


class Alarm(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(default_factory=utcnow, index=True)
    tool_id: str
    run_id: int | None = Field(default=None, index=True)
    lot_id: str | None = None
    kind: str = Field(description="excursion, tool, comm, gap, policy")
    code: str
    message: str
    t_program: float | None = None


class Audit(SQLModel, table=True):
    seq: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(default_factory=utcnow)
    actor: str
    action: str
    entity: str
    entity_id: str
    reason: str | None = None
    before_json: str | None = None
    after_json: str | None = None
    prev_hash: str
    hash: str


class LoginSession(SQLModel, table=True):
    """A CLI or TUI login: the client keeps the token, the database only its SHA-256."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user: str = Field(foreign_key="user.name", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class FutureHold(SQLModel, table=True):
    """A hold waiting on a later step of the lot's route; placed when the lot arrives there."""

    id: int | None = Field(default=None, primary_key=True)
    lot_id: str = Field(foreign_key="lot.id", index=True)
    step: str
    code: str
    reason: str
    placed_by: str
    placed_at: datetime = Field(default_factory=utcnow)
    hold_id: int | None = None  # the hold it became
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None


class LotLink(SQLModel, table=True):
    """Genealogy between lots: a split (parent → child) or a merge (source → target)."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # split, merge
    from_lot: str = Field(foreign_key="lot.id", index=True)
    to_lot: str = Field(foreign_key="lot.id", index=True)
    wafer_ids_json: str
    step: str
    actor: str
    reason: str
    at: datetime = Field(default_factory=utcnow)


class WaferEvent(SQLModel, table=True):
    """A wafer's own history: every lot it was in and everything that happened to it."""

    id: int | None = Field(default=None, primary_key=True)
    wafer_id: str = Field(foreign_key="wafer.id", index=True)
    ts: datetime = Field(default_factory=utcnow)
    lot_id: str
    step: str
    event: str  # created, split, merged, hold, release, scrap, diemap, binmap
    actor: str
    detail: str | None = None


class WaferDie(SQLModel, table=True):
    """One die position of a reconstituted wafer: where the die came from and its test bin."""

    __table_args__ = (UniqueConstraint("wafer_id", "x", "y"),)
    id: int | None = Field(default=None, primary_key=True)
    wafer_id: str = Field(foreign_key="wafer.id", index=True)
    x: int
    y: int
    source_wafer: str = Field(index=True, max_length=64)  # the singulated device wafer
    source_x: int | None = None
    source_y: int | None = None
    bin: int | None = None  # from final test; None until tested
    binned_at: datetime | None = None


class ToolStateChange(SQLModel, table=True):
    """Every E10 state change of a tool: the time accounting behind `pkgline report e10`."""

    __table_args__ = (Index("ix_toolstatechange_tool_since", "tool_id", "since"),)
    id: int | None = Field(default=None, primary_key=True)
    tool_id: str = Field(foreign_key="tool.id")
    state: str
    since: datetime
    actor: str
    reason: str | None = None
    run_id: int | None = None


class ToolQualification(SQLModel, table=True):
    """A tool may run a step (any of its recipes, or only `recipe_name`): track-in checks it."""

    __table_args__ = (UniqueConstraint("tool_id", "step", "recipe_name"),)
    id: int | None = Field(default=None, primary_key=True)
    tool_id: str = Field(foreign_key="tool.id", index=True)
    step: str = Field(max_length=64)  # a route step name; "PI_CURE" also covers "RDL1.PI_CURE"
    recipe_name: str | None = Field(default=None, max_length=64)  # None: any recipe of the step
    qualified_by: str
    qualified_at: datetime = Field(default_factory=utcnow)
