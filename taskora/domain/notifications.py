"""Notifications (made from ``reminder.due`` events) and each user's preferences."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlmodel import Session, col

from taskora.domain.pagination import newest_first
from taskora.domain.payloads import NotificationCreated
from taskora.errors import NotFound
from taskora.events.outbox import emit
from taskora.events.types import EventType
from taskora.models import Notification, UserPreferences
from taskora.schemas import (
    NotificationPublic,
    NotificationQuery,
    NotificationsPage,
    PreferencesPublic,
    PreferencesUpdate,
    TaskPublic,
)

__all__ = [
    "ARCHIVE_AFTER",
    "archive_old",
    "clear",
    "get_preferences",
    "list_notifications",
    "mark_all_read",
    "mark_read",
    "notify_reminder",
    "unread_count",
    "update_preferences",
]

ARCHIVE_AFTER = timedelta(days=30)


def _public(row: Notification) -> NotificationPublic:
    return NotificationPublic(
        id=row.id or 0,
        kind=row.kind,
        message=row.message,
        task_id=row.task_id,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def get_preferences(*, session: Session, user_id: str) -> PreferencesPublic:
    row = session.get(UserPreferences, user_id)
    return PreferencesPublic(reminders_enabled=row.reminders_enabled if row else True)


def update_preferences(
    *, session: Session, user_id: str, changes: PreferencesUpdate, now: datetime
) -> PreferencesPublic:
    row = session.get(UserPreferences, user_id) or UserPreferences(user_id=user_id, updated_at=now)
    for field, value in changes.model_dump(exclude_unset=True).items():
        setattr(row, field, value)
    row.updated_at = now
    session.add(row)
    session.flush()
    return PreferencesPublic(reminders_enabled=row.reminders_enabled)


def notify_reminder(*, session: Session, user_id: str, task: TaskPublic, now: datetime) -> None:
    """Turn a due reminder into a notification, unless the user switched reminders off."""
    if not get_preferences(session=session, user_id=user_id).reminders_enabled:
        return
    row = Notification(
        user_id=user_id,
        task_id=task.id,
        kind="reminder",
        message=f"Reminder: {task.title}"[:300],
        created_at=now,
    )
    session.add(row)
    session.flush()
    emit(
        session=session,
        type=EventType.NOTIFICATION_CREATED,
        user_id=user_id,
        subject=f"notifications/{row.id}",
        data=NotificationCreated(notification=_public(row)),
        actor="system:notifications",
        now=now,
    )


def _visible(user_id: str):  # type: ignore[no-untyped-def]
    return (col(Notification.user_id) == user_id) & (col(Notification.archived).is_(False))


def list_notifications(
    *, session: Session, user_id: str, query: NotificationQuery
) -> NotificationsPage:
    statement = select(Notification).where(_visible(user_id))
    if query.unread:
        statement = statement.where(col(Notification.read_at).is_(None))
    page, next_cursor = newest_first(
        session, statement, col(Notification.id), cursor=query.cursor, limit=query.limit
    )
    return NotificationsPage(items=[_public(r) for r in page], next_cursor=next_cursor)


def unread_count(*, session: Session, user_id: str) -> int:
    statement = select(func.count()).where(_visible(user_id), col(Notification.read_at).is_(None))
    return int(session.scalar(statement) or 0)


def mark_read(
    *, session: Session, user_id: str, notification_id: int, now: datetime
) -> NotificationPublic:
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user_id or row.archived:
        raise NotFound("Notification not found")
    if row.read_at is None:
        row.read_at = now
        session.flush()
    return _public(row)


def mark_all_read(*, session: Session, user_id: str, now: datetime) -> int:
    result = session.execute(
        update(Notification)
        .where(_visible(user_id), col(Notification.read_at).is_(None))
        .values(read_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def clear(*, session: Session, user_id: str) -> None:
    session.execute(delete(Notification).where(col(Notification.user_id) == user_id))


def archive_old(*, session: Session, now: datetime) -> int:
    """Archive notifications older than 30 days: they leave the lists and the counts."""
    result = session.execute(
        update(Notification)
        .where(
            col(Notification.archived).is_(False),
            col(Notification.created_at) < now - ARCHIVE_AFTER,
        )
        .values(archived=True)
    )
    return int(getattr(result, "rowcount", 0) or 0)
