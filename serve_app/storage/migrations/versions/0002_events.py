"""Events: columns and indexes for every read filter, and tags in a table of their own

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (name, columns): every index leads with the account, as every event query is scoped to one.
EVENT_INDEXES = (
    ("ix_events_account_create", ["account_id", "create_time"]),
    ("ix_events_account_handler_create", ["account_id", "handler_id", "create_time"]),
    ("ix_events_account_external", ["account_id", "external_id"]),
    ("ix_events_account_face", ["account_id", "face_id"]),
    ("ix_events_account_track", ["account_id", "track_id"]),
    ("ix_events_account_source", ["account_id", "source"]),
    ("ix_events_account_gender", ["account_id", "gender"]),
    ("ix_events_account_age", ["account_id", "age"]),
)
# The single-column indexes of 0001, replaced by the account-led ones above.
OLD_INDEXES = (
    ("ix_events_account_id", ["account_id"]),
    ("ix_events_create_time", ["create_time"]),
    ("ix_events_handler_id", ["handler_id"]),
)


def upgrade() -> None:
    # batch_alter_table: SQLite cannot add columns with defaults or drop indexes in place
    # everywhere; on PostgreSQL it issues plain ALTER statements.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("user_data", sa.String(length=128), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("gender", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("age", sa.Integer(), nullable=True))
        for name, _ in OLD_INDEXES:
            batch_op.drop_index(name)
        for name, columns in EVENT_INDEXES:
            batch_op.create_index(name, columns, unique=False)
    # The server default only filled rows that existed; the model gives new rows their value.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column("user_data", server_default=None)

    op.create_table(
        "event_tags",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.event_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "tag"),
    )
    op.create_index("ix_event_tags_tag", "event_tags", ["tag", "event_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_event_tags_tag", table_name="event_tags")
    op.drop_table("event_tags")
    with op.batch_alter_table("events", schema=None) as batch_op:
        for name, _ in EVENT_INDEXES:
            batch_op.drop_index(name)
        for name, columns in OLD_INDEXES:
            batch_op.create_index(name, columns, unique=False)
        batch_op.drop_column("age")
        batch_op.drop_column("gender")
        batch_op.drop_column("user_data")
