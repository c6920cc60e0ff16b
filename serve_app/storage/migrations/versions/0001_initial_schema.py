"""Initial schema: handlers, verifiers, samples, attributes, faces, lists, events

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attributes",
        sa.Column("attribute_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("descriptor", sa.LargeBinary(), nullable=True),
        sa.Column("descriptor_version", sa.Integer(), nullable=True),
        sa.Column("descriptor_score", sa.Float(), nullable=True),
        sa.Column("basic_attributes", sa.JSON(), nullable=True),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("attribute_id"),
    )
    with op.batch_alter_table("attributes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attributes_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_attributes_expire_time"), ["expire_time"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("handler_id", sa.String(length=36), nullable=True),
        sa.Column("face_id", sa.String(length=36), nullable=True),
        sa.Column("external_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("track_id", sa.String(length=36), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("descriptor", sa.LargeBinary(), nullable=True),
        sa.Column("descriptor_version", sa.Integer(), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_create_time"), ["create_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_handler_id"), ["handler_id"], unique=False)

    op.create_table(
        "faces",
        sa.Column("face_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("user_data", sa.String(length=128), nullable=False),
        sa.Column("external_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("avatar", sa.String(length=256), nullable=False),
        sa.Column("basic_attributes", sa.JSON(), nullable=True),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("face_id"),
    )
    with op.batch_alter_table("faces", schema=None) as batch_op:
        batch_op.create_index(
            "ix_faces_account_create", ["account_id", "create_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_faces_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_faces_external_id"), ["external_id"], unique=False)

    op.create_table(
        "handlers",
        sa.Column("handler_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("policies", sa.JSON(), nullable=True),
        sa.Column("is_dynamic", sa.Boolean(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("handler_id"),
    )
    with op.batch_alter_table("handlers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_handlers_account_create", ["account_id", "create_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_handlers_account_id"), ["account_id"], unique=False)

    op.create_table(
        "lists",
        sa.Column("list_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("user_data", sa.String(length=128), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("list_id"),
    )
    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lists_account_id"), ["account_id"], unique=False)

    op.create_table(
        "samples",
        sa.Column("sample_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sample_id"),
    )
    with op.batch_alter_table("samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_samples_account_id"), ["account_id"], unique=False)

    op.create_table(
        "verifiers",
        sa.Column("verifier_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("policies", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("verifier_id"),
    )
    with op.batch_alter_table("verifiers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_verifiers_account_create", ["account_id", "create_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_verifiers_account_id"), ["account_id"], unique=False)

    op.create_table(
        "face_descriptors",
        sa.Column("face_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("descriptor", sa.LargeBinary(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["face_id"], ["faces.face_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("face_id", "version"),
    )
    op.create_table(
        "list_faces",
        sa.Column("list_id", sa.String(length=36), nullable=False),
        sa.Column("face_id", sa.String(length=36), nullable=False),
        sa.Column("link_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["face_id"], ["faces.face_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["list_id"], ["lists.list_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "face_id"),
    )
    with op.batch_alter_table("list_faces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_list_faces_face_id"), ["face_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("list_faces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_list_faces_face_id"))

    op.drop_table("list_faces")
    op.drop_table("face_descriptors")
    with op.batch_alter_table("verifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verifiers_account_id"))
        batch_op.drop_index("ix_verifiers_account_create")

    op.drop_table("verifiers")
    with op.batch_alter_table("samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_samples_account_id"))

    op.drop_table("samples")
    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lists_account_id"))

    op.drop_table("lists")
    with op.batch_alter_table("handlers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handlers_account_id"))
        batch_op.drop_index("ix_handlers_account_create")

    op.drop_table("handlers")
    with op.batch_alter_table("faces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faces_external_id"))
        batch_op.drop_index(batch_op.f("ix_faces_account_id"))
        batch_op.drop_index("ix_faces_account_create")

    op.drop_table("faces")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_handler_id"))
        batch_op.drop_index(batch_op.f("ix_events_create_time"))
        batch_op.drop_index(batch_op.f("ix_events_account_id"))

    op.drop_table("events")
    with op.batch_alter_table("attributes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attributes_expire_time"))
        batch_op.drop_index(batch_op.f("ix_attributes_account_id"))

    op.drop_table("attributes")
