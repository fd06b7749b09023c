"""Database tables.

The API schemas live in ``taskora.schemas``: the tables store priority as a rank (so it sorts)
and tags relationally (so a rename or recolour touches one row), which the public shapes hide.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from taskora.db import UTCDateTime

__all__ = ["IdempotencyRecord", "Tag", "Task", "TaskId", "TaskTag"]

# 64-bit on PostgreSQL; on SQLite only "INTEGER PRIMARY KEY" is the auto-incrementing rowid.
TaskId = BigInteger().with_variant(Integer(), "sqlite")


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_user_created", "user_id", "created_at", "id"),
        Index("ix_tasks_user_due", "user_id", "due_at"),
        Index("ix_tasks_user_status", "user_id", "status"),
    )

    id: int | None = Field(default=None, sa_column=Column(TaskId, primary_key=True))
    user_id: str = Field(max_length=128)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    priority: int = Field(default=1)
    status: str = Field(default="open", max_length=8)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remind_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recurrence: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Tag(SQLModel, table=True):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_tags_user_name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=128)
    name: str = Field(max_length=50)
    color: str = Field(max_length=7)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TaskTag(SQLModel, table=True):
    __tablename__ = "task_tags"
    __table_args__ = (Index("ix_task_tags_tag", "tag_id"),)

    task_id: int = Field(
        sa_column=Column(TaskId, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    )
    tag_id: int = Field(
        sa_column=Column(Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    )


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a write made with an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_keys"

    user_id: str = Field(primary_key=True, max_length=128)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
