"""One pydantic model per event type: the CloudEvent's ``data``.

The domain builds these and ``outbox.emit`` stores them as they serialise; consumers and the
audit read ``data`` back with ``payload_of``; ``docs/events.md`` is generated from them
(``python -m taskora.domain.catalogue``) and a test keeps it in step. They live with the rules:
the event plumbing (``taskora.events``) moves any event and knows no payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taskora.events.types import EventType
from taskora.schemas import NotificationPublic, TaskPublic

__all__ = [
    "PAYLOADS",
    "NotificationCreated",
    "Payload",
    "ReminderDue",
    "TagDeleted",
    "TagRenamed",
    "TaskChanged",
    "TaskRecurred",
    "TaskUpdated",
    "payload_of",
]


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True)


class TaskChanged(Payload):
    """The task as it is after the change (as it was, for ``task.deleted``)."""

    task: TaskPublic


class TaskUpdated(Payload):
    """The task after the change, and the fields that changed, before and after."""

    task: TaskPublic
    before: dict[str, Any] = Field(description="The changed fields' old values")
    after: dict[str, Any] = Field(description="The changed fields' new values")


class TaskRecurred(Payload):
    """The next occurrence of a series, created when the previous one was completed."""

    task: TaskPublic
    previous_task_id: int


class TagRenamed(Payload):
    """A tag's new name; every task listed now carries it under that name."""

    old_name: str
    new_name: str
    task_ids: list[int]


class TagDeleted(Payload):
    """A deleted tag; every task listed carried it and no longer does."""

    name: str
    task_ids: list[int]


class ReminderDue(Payload):
    """A task whose reminder time has come (once per task and reminder time)."""

    task: TaskPublic
    remind_at: datetime


class NotificationCreated(Payload):
    """A notification made for the user (from a ``reminder.due``)."""

    notification: NotificationPublic


PAYLOADS: dict[EventType, type[Payload]] = {
    EventType.TASK_CREATED: TaskChanged,
    EventType.TASK_UPDATED: TaskUpdated,
    EventType.TASK_COMPLETED: TaskChanged,
    EventType.TASK_REOPENED: TaskChanged,
    EventType.TASK_DELETED: TaskChanged,
    EventType.TASK_RECURRED: TaskRecurred,
    EventType.TAG_RENAMED: TagRenamed,
    EventType.TAG_DELETED: TagDeleted,
    EventType.REMINDER_DUE: ReminderDue,
    EventType.NOTIFICATION_CREATED: NotificationCreated,
}


def payload_of(event_type: str, data: dict[str, Any]) -> Payload:
    """``data`` read as the payload of its type; ``ValueError`` (pydantic's ValidationError, or
    an unknown type) when it is not one."""
    return PAYLOADS[EventType(event_type)].model_validate(data)
