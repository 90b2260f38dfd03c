"""The system of record: SQLModel tables and the engine/session factory."""

from mes.store.db import create_schema, make_engine, resolve_database_url
from mes.store.tables import (
    Alarm,
    Audit,
    CureEntry,
    Hold,
    Lot,
    Recipe,
    Route,
    Run,
    Sample,
    Tool,
    User,
    Wafer,
)

__all__ = [
    "Alarm",
    "Audit",
    "CureEntry",
    "Hold",
    "Lot",
    "Recipe",
    "Route",
    "Run",
    "Sample",
    "Tool",
    "User",
    "Wafer",
    "create_schema",
    "make_engine",
    "resolve_database_url",
]
