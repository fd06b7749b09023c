"""The reminder scan: one ``reminder.due`` per task and reminder time, however many replicas
run the scan at once.

Each due task is claimed with a compare-and-set on ``reminded_at`` (``UPDATE ... WHERE
reminded_at IS NULL``): only the scan whose update changed the row emits the event, in the same
transaction. On PostgreSQL the candidates are also locked with ``FOR UPDATE SKIP LOCKED`` so
concurrent scans share the work instead of queueing on the same rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session, col

from taskora.domain.payloads import ReminderDue
from taskora.domain.tags import tags_of
from taskora.domain.task_reads import PUBLIC_COLUMNS
from taskora.domain.tasks import to_public
from taskora.events.outbox import emit
from taskora.events.types import EventType
from taskora.models import Task

__all__ = ["BATCH", "scan_due_reminders"]

BATCH = 500
ACTOR = "system:reminders"


def scan_due_reminders(*, session: Session, now: datetime) -> int:
    """Emit ``reminder.due`` for open tasks whose reminder time has come by ``now``; returns
    how many."""
    statement = (
        select(*PUBLIC_COLUMNS, col(Task.user_id).label("owner"))
        .where(col(Task.reminded_at).is_(None), col(Task.remind_at) <= now)
        .order_by(col(Task.remind_at))
        .limit(BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=Task)
    rows = session.execute(statement).all()
    tags = tags_of(session=session, task_ids=[row.id for row in rows])
    emitted = 0
    for row in rows:
        claimed = session.execute(
            update(Task)
            .where(col(Task.id) == row.id, col(Task.reminded_at).is_(None))
            .values(reminded_at=row.remind_at)
            .returning(col(Task.id))
        )
        if claimed.first() is None or row.status != "open":
            continue  # another scan claimed it, or it is done: no reminder
        task = to_public(row, tags.get(row.id, []))
        emit(
            session=session,
            type=EventType.REMINDER_DUE,
            user_id=row.owner,
            subject=f"tasks/{row.id}",
            data=ReminderDue(task=task, remind_at=row.remind_at),
            actor=ACTOR,
            now=now,
        )
        emitted += 1
    return emitted
