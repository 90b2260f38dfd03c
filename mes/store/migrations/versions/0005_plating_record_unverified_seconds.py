"""plating record unverified seconds

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 20:26:10.650975
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Records written before: their charge was integrated with linear bridges only, and
    # no hole was judged; they count as verified (0 s), as they were treated until now.
    with op.batch_alter_table("platingrecord", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unverified_s", sa.Float(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("platingrecord", schema=None) as batch_op:
        batch_op.drop_column("unverified_s")
