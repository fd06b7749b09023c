"""The audit trail: one entry per event, with actor, type, time and before/after."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session, col

from taskora.domain.pagination import newest_first
from taskora.domain.payloads import Payload, TaskChanged, TaskRecurred, TaskUpdated
from taskora.events.envelope import CloudEvent
from taskora.events.types import EventType
from taskora.models import AuditEntry
from taskora.schemas import AuditEntryPublic, AuditPage, AuditQuery

__all__ = ["list_audit", "record_events"]

_STATUS_BEFORE = {EventType.TASK_COMPLETED: "open", EventType.TASK_REOPENED: "done"}


def _task_id(subject: str) -> int | None:
    kind, _, ident = subject.partition("/")
    return int(ident) if kind == "tasks" and ident.isdigit() else None


def _before_after(event_type: str, payload: Payload) -> tuple[Any, Any]:
    """What the entry shows changed: the changed fields, the status, the whole task created or
    deleted, or the payload itself (tags, reminders, notifications)."""
    if isinstance(payload, TaskUpdated):
        return payload.before, payload.after
    if not isinstance(payload, TaskChanged | TaskRecurred):
        return None, payload.model_dump(mode="json")
    if event_type in _STATUS_BEFORE:
        return {"status": _STATUS_BEFORE[EventType(event_type)]}, {"status": payload.task.status}
    task = payload.task.model_dump(mode="json")
    return (task, None) if event_type == EventType.TASK_DELETED else (None, task)


_AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
# With RETURNING, SQLAlchemy sends many rows as one multi-row INSERT ("insertmanyvalues");
# without it psycopg runs the INSERT once per row.
_INSERT = insert(_AUDIT).returning(_AUDIT.c.id)


def record_events(*, session: Session, events: Sequence[tuple[CloudEvent, Payload]]) -> None:
    """One audit entry per event (with its data read as its type's payload), in one INSERT."""
    rows = []
    for event, payload in events:
        before, after = _before_after(event.type, payload)
        rows.append(
            {
                "event_id": event.id,
                "user_id": event.userid,
                "actor": event.actor,
                "type": event.type,
                "task_id": _task_id(event.subject),
                "time": event.time,
                "before": None if before is None else json.dumps(before),
                "after": None if after is None else json.dumps(after),
            }
        )
    if rows:
        session.connection().execute(_INSERT, rows)


def list_audit(*, session: Session, user_id: str, query: AuditQuery) -> AuditPage:
    """Newest first; the cursor is the id of the last entry returned."""
    statement = select(AuditEntry).where(col(AuditEntry.user_id) == user_id)
    if query.task_id is not None:
        statement = statement.where(col(AuditEntry.task_id) == query.task_id)
    if query.type:
        statement = statement.where(col(AuditEntry.type).in_(query.type))
    if query.since is not None:
        statement = statement.where(col(AuditEntry.time) >= query.since)
    page, next_cursor = newest_first(
        session, statement, col(AuditEntry.id), cursor=query.cursor, limit=query.limit
    )
    items = [
        AuditEntryPublic(
            id=row.id or 0,
            event_id=row.event_id,
            type=row.type,
            actor=row.actor,
            task_id=row.task_id,
            time=row.time,
            before=None if row.before is None else json.loads(row.before),
            after=None if row.after is None else json.loads(row.after),
        )
        for row in page
    ]
    return AuditPage(items=items, next_cursor=next_cursor)
