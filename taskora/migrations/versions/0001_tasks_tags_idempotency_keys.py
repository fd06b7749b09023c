"""tasks, tags, idempotency keys

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:58:32.982944
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import taskora.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", taskora.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("color", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("created_at", taskora.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "name", name="uq_tags_user_name"),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("due_at", taskora.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("remind_at", taskora.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recurrence", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", taskora.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", taskora.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", taskora.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_user_created", ["user_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_tasks_user_due", ["user_id", "due_at"], unique=False)
        batch_op.create_index("ix_tasks_user_status", ["user_id", "status"], unique=False)

    op.create_table(
        "task_tags",
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "tag_id"),
    )
    with op.batch_alter_table("task_tags", schema=None) as batch_op:
        batch_op.create_index("ix_task_tags_tag", ["tag_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_task_tags_tag")

    op.drop_table("task_tags")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_user_status")
        batch_op.drop_index("ix_tasks_user_due")
        batch_op.drop_index("ix_tasks_user_created")

    op.drop_table("tasks")
    op.drop_table("tags")
    op.drop_table("idempotency_keys")
