"""The event types and the topic each is published on: the one list of them.

Kept free of other imports so that the API's shapes (``taskora.schemas``: the audit filter,
the SSE ``event:`` names) and the event plumbing both name types from here.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["REMINDER_EVENTS", "TASK_EVENTS", "TOPICS", "EventType", "topic_of"]

TASK_EVENTS = "task-events"
REMINDER_EVENTS = "reminder-events"
TOPICS = (TASK_EVENTS, REMINDER_EVENTS)


class EventType(StrEnum):
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    TASK_COMPLETED = "task.completed"
    TASK_REOPENED = "task.reopened"
    TASK_DELETED = "task.deleted"
    TASK_RECURRED = "task.recurred"
    TAG_RENAMED = "tag.renamed"
    TAG_DELETED = "tag.deleted"
    REMINDER_DUE = "reminder.due"
    NOTIFICATION_CREATED = "notification.created"


_REMINDER_TYPES = frozenset({EventType.REMINDER_DUE, EventType.NOTIFICATION_CREATED})


def topic_of(event_type: EventType) -> str:
    """Reminders and notifications on their own topic; everything about tasks and tags on the
    task topic (one user's changes stay in order there)."""
    return REMINDER_EVENTS if event_type in _REMINDER_TYPES else TASK_EVENTS
