"""The system of record: SQLModel tables and the engine/session factory."""

from mes.store.db import create_schema, make_engine, resolve_database_url
from mes.store.tables import Alarm, Audit, Hold, Lot, Recipe, Route, Run, Sample, Tool, User

__all__ = [
    "Alarm",
    "Audit",
    "Hold",
    "Lot",
    "Recipe",
    "Route",
    "Run",
    "Sample",
    "Tool",
    "User",
    "create_schema",
    "make_engine",
    "resolve_database_url",
]
