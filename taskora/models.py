"""Database tables.

The API schemas live in ``taskora.schemas``: the tables store priority as a rank (so it sorts)
and tags relationally (so a rename or recolour touches one row), which the public shapes hide.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from taskora.db import UTCDateTime

__all__ = [
    "AuditEntry",
    "DeadLetter",
    "IdempotencyRecord",
    "Lease",
    "Notification",
    "OutboxEvent",
    "ProcessedEvent",
    "Tag",
    "Task",
    "TaskId",
    "TaskTag",
    "UserPreferences",
]

# 64-bit on PostgreSQL; on SQLite only "INTEGER PRIMARY KEY" is the auto-incrementing rowid.
TaskId = BigInteger().with_variant(Integer(), "sqlite")


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_user_created", "user_id", "created_at", "id"),
        Index("ix_tasks_user_due", "user_id", "due_at"),
        Index("ix_tasks_user_status", "user_id", "status"),
        Index("ix_tasks_reminder_due", "reminded_at", "remind_at"),
        UniqueConstraint("series_id", "occurrence_at", name="uq_tasks_series_occurrence"),
        {"sqlite_autoincrement": True},  # an id is never given out twice, even after a delete
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
    # Recurrence: every occurrence of a series shares series_id (the first task's id) and has
    # its own occurrence_at (its due time); the pair is unique, so no occurrence exists twice.
    timezone: str | None = Field(default=None, max_length=64)
    series_id: int | None = Field(default=None, sa_column=Column(TaskId, nullable=True))
    series_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    occurrence_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The remind_at for which a reminder.due was emitted (compare-and-set by the scan).
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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


class OutboxEvent(SQLModel, table=True):
    """An event written in the transaction of the change it describes. Its id is its position
    in the log: the CloudEvent ``sequence``, the SSE ``id`` and the ``Last-Event-ID`` cursor."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_undispatched", "dispatched_at", "id"),
        Index("ix_outbox_user", "user_id", "id"),
        {"sqlite_autoincrement": True},  # positions are never reused, even after pruning
    )

    id: int | None = Field(default=None, sa_column=Column(TaskId, primary_key=True))
    event_id: str = Field(max_length=36, unique=True)
    topic: str = Field(max_length=64)
    type: str = Field(max_length=64)
    subject: str = Field(max_length=128)
    user_id: str = Field(max_length=128)
    actor: str = Field(max_length=128)
    time: datetime = Field(sa_type=UTCDateTime)
    data: str = Field(sa_type=Text)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)


class ProcessedEvent(SQLModel, table=True):
    """A consumer's record that it applied an event: written with the effect, so a redelivery
    is recognised and skipped."""

    __tablename__ = "processed_events"

    consumer: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=36)
    processed_at: datetime = Field(sa_type=UTCDateTime)


class DeadLetter(SQLModel, table=True):
    """An event a consumer could not apply after its retries, or a message it could not read."""

    __tablename__ = "dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    consumer: str = Field(max_length=64)
    topic: str = Field(max_length=64)
    event_id: str | None = Field(default=None, max_length=36)
    reason: str = Field(sa_type=Text)
    payload: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Lease(SQLModel, table=True):
    """A named lease: at most one holder until it expires (the relay's leadership)."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user", "user_id", "archived", "id"),)

    id: int | None = Field(default=None, sa_column=Column(TaskId, primary_key=True))
    user_id: str = Field(max_length=128)
    task_id: int | None = Field(default=None, sa_column=Column(TaskId, nullable=True))
    kind: str = Field(max_length=32)
    message: str = Field(max_length=300)
    created_at: datetime = Field(sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    archived: bool = Field(default=False)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_user", "user_id", "id"), Index("ix_audit_task", "task_id"))

    id: int | None = Field(default=None, sa_column=Column(TaskId, primary_key=True))
    event_id: str = Field(max_length=36, unique=True)
    user_id: str = Field(max_length=128)
    actor: str = Field(max_length=128)
    type: str = Field(max_length=64)
    task_id: int | None = Field(default=None, sa_column=Column(TaskId, nullable=True))
    time: datetime = Field(sa_type=UTCDateTime)
    before: str | None = Field(default=None, sa_type=Text)
    after: str | None = Field(default=None, sa_type=Text)


class UserPreferences(SQLModel, table=True):
    __tablename__ = "user_preferences"

    user_id: str = Field(primary_key=True, max_length=128)
    reminders_enabled: bool = Field(default=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
