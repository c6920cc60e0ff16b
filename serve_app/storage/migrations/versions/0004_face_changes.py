"""The face change feed that matcher shard replicas follow (serve_app.matching.changes)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "face_changes",
        # SQLite makes only an INTEGER PRIMARY KEY autoincrementing (its rowid).
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("face_id", sa.String(length=36), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_face_changes_create_time", "face_changes", ["create_time"])


def downgrade() -> None:
    op.drop_index("ix_face_changes_create_time", table_name="face_changes")
    op.drop_table("face_changes")
