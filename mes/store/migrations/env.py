"""Alembic environment: runs on the connection `mes.store.migrate` hands over (no alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from mes.store import tables as _tables  # noqa: F401  (registers the tables on the metadata)

if context.is_offline_mode():
    raise RuntimeError("pkgline migrations run online only: use mes.store.migrate")

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through mes.store.migrate, which passes the connection")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite alters most things by copying the table; batch mode writes that for us.
    render_as_batch=connection.dialect.name == "sqlite",
)
# mes.store.migrate opens the transaction; this one is then a no-op.
with context.begin_transaction():
    context.run_migrations()
