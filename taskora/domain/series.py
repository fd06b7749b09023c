"""Creating the next occurrence of a recurring task when the current one is completed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from taskora.domain.payloads import TaskRecurred
from taskora.domain.recurrence import next_occurrence
from taskora.domain.tags import set_task_tags, tag_ids_of, tags_of
from taskora.domain.tasks import to_public
from taskora.events.outbox import emit
from taskora.events.types import EventType
from taskora.models import Task

__all__ = ["create_next_occurrence"]

ACTOR = "system:recurrence"


def create_next_occurrence(*, session: Session, task_id: int, now: datetime) -> Task | None:
    """Create the occurrence after ``task_id``'s, once; None when there is none to create.

    The series' unique key ``(series_id, occurrence_at)`` makes a second creation impossible,
    whichever consumer, replica or redelivery attempts it.
    """
    task = session.get(Task, task_id)
    if task is None or task.recurrence is None or task.status != "done":
        return None  # deleted, cancelled or reopened since: the series stops here
    assert task.series_start is not None and task.occurrence_at is not None
    following = next_occurrence(
        task.recurrence,
        start=task.series_start,
        current=task.occurrence_at,
        zone_name=task.timezone,
    )
    if following is None:
        return None  # COUNT or UNTIL reached
    remind_at = None
    if task.remind_at is not None and task.due_at is not None:
        remind_at = following + (task.remind_at - task.due_at)
    occurrence = Task(
        user_id=task.user_id,
        title=task.title,
        description=task.description,
        priority=task.priority,
        due_at=following,
        remind_at=remind_at,
        recurrence=task.recurrence,
        timezone=task.timezone,
        series_id=task.series_id,
        series_start=task.series_start,
        occurrence_at=following,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(occurrence)
            session.flush()
    except IntegrityError:
        return None  # this occurrence already exists
    assert task.id is not None and occurrence.id is not None
    tag_ids = tag_ids_of(session=session, task_id=task.id)
    set_task_tags(session=session, task_id=occurrence.id, tag_ids=tag_ids, replace=False)
    public = to_public(
        occurrence, tags_of(session=session, task_ids=[occurrence.id])[occurrence.id]
    )
    emit(
        session=session,
        type=EventType.TASK_RECURRED,
        user_id=task.user_id,
        subject=f"tasks/{occurrence.id}",
        data=TaskRecurred(task=public, previous_task_id=task.id),
        actor=ACTOR,
        now=now,
    )
    return occurrence
