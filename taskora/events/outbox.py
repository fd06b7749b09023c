"""The transactional outbox: events are rows written by the transaction that made the change.

``emit`` never publishes anything: the relay does, after commit, from these rows. On
PostgreSQL the commit is followed by ``NOTIFY taskora_outbox`` (sent by ``taskora.doorbell``,
outside the transaction), which wakes the stream tails of every replica at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlmodel import Session, col

from taskora.db import notify_after_commit
from taskora.events.types import EventType, topic_of
from taskora.models import OutboxEvent

__all__ = [
    "NOTIFY_CHANNEL",
    "emit",
    "event_row",
    "mark_dispatched",
    "note_attempt",
    "oldest_undispatched",
    "prune",
    "last_position",
    "read_after",
    "read_ids",
    "positions_after",
    "undispatched",
]

NOTIFY_CHANNEL = "taskora_outbox"
_INSERT = insert(OutboxEvent.__table__)  # type: ignore[attr-defined]


def event_row(
    *, type: EventType, user_id: str, subject: str, data: BaseModel, actor: str, now: datetime
) -> dict[str, object]:
    """The outbox row of an event. ``data`` is the payload model of ``type``
    (``taskora.domain.payloads``), serialised once here."""
    return {
        "event_id": str(uuid.uuid4()),
        "topic": topic_of(type),
        "type": type.value,
        "subject": subject,
        "user_id": user_id,
        "actor": actor,
        "time": now,
        "data": data.model_dump_json(),
        "attempts": 0,
    }


def emit(
    *,
    session: Session,
    type: EventType,
    user_id: str,
    subject: str,
    data: BaseModel,
    actor: str,
    now: datetime,
) -> None:
    """Add an event to the caller's transaction (one INSERT, no unit-of-work flush)."""
    row = event_row(type=type, user_id=user_id, subject=subject, data=data, actor=actor, now=now)
    connection = session.connection()  # Core, not the ORM's execute: this runs in the writer
    connection.execute(_INSERT, row)
    if connection.dialect.name == "postgresql":
        notify_after_commit(session, NOTIFY_CHANNEL)


def undispatched(*, session: Session, limit: int) -> Sequence[OutboxEvent]:
    statement = (
        select(OutboxEvent)
        .where(col(OutboxEvent.dispatched_at).is_(None))
        .order_by(col(OutboxEvent.id))
        .limit(limit)
    )
    return session.scalars(statement).all()


def mark_dispatched(*, session: Session, ids: Sequence[int], now: datetime) -> None:
    if ids:
        session.execute(
            update(OutboxEvent).where(col(OutboxEvent.id).in_(ids)).values(dispatched_at=now)
        )


def note_attempt(*, session: Session, event_id: int) -> int:
    """Count a failed delivery attempt; returns the attempts so far."""
    session.execute(
        update(OutboxEvent)
        .where(col(OutboxEvent.id) == event_id)
        .values(attempts=col(OutboxEvent.attempts) + 1)
    )
    return int(
        session.scalar(select(col(OutboxEvent.attempts)).where(col(OutboxEvent.id) == event_id))
        or 0
    )


def read_after(
    *, session: Session, position: int, limit: int, user_id: str | None = None
) -> Sequence[OutboxEvent]:
    """Events after ``position`` in log order (optionally one user's)."""
    statement = select(OutboxEvent).where(col(OutboxEvent.id) > position)
    if user_id is not None:
        statement = statement.where(col(OutboxEvent.user_id) == user_id)
    return session.scalars(statement.order_by(col(OutboxEvent.id)).limit(limit)).all()


_POSITIONS = (
    select(col(OutboxEvent.id), col(OutboxEvent.user_id))
    .where(col(OutboxEvent.id) > bindparam("position"))
    .order_by(col(OutboxEvent.id))
    .limit(bindparam("limit"))
)
_BY_IDS = (
    select(OutboxEvent)
    .where(col(OutboxEvent.id).in_(bindparam("ids", expanding=True)))
    .order_by(col(OutboxEvent.id))
)


def positions_after(*, connection: Connection, position: int, limit: int) -> list[tuple[int, str]]:
    """``(id, user_id)`` of the events after ``position`` in log order: what a stream tail needs
    to follow the log, without reading (and parsing) the events nobody it serves subscribed to."""
    rows = connection.execute(_POSITIONS, {"position": position, "limit": limit})
    return [(row.id, row.user_id) for row in rows]


def read_ids(*, session: Session, ids: Sequence[int]) -> list[OutboxEvent]:
    """These events, in log order (an id pruned meanwhile is left out)."""
    if not ids:
        return []
    return list(session.scalars(_BY_IDS, {"ids": list(ids)}).all())


def last_position(*, session: Session) -> int:
    return int(session.scalar(select(func.max(OutboxEvent.id))) or 0)


def oldest_undispatched(*, session: Session) -> datetime | None:
    return session.scalar(
        select(func.min(OutboxEvent.time)).where(col(OutboxEvent.dispatched_at).is_(None))
    )


def prune(*, session: Session, now: datetime, retention: timedelta) -> int:
    """Delete dispatched events older than the retention (the SSE replay window)."""
    result = session.execute(
        delete(OutboxEvent).where(
            col(OutboxEvent.dispatched_at).is_not(None), col(OutboxEvent.time) < now - retention
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
