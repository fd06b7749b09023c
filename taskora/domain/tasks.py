"""Tasks: create, read, list, change, complete, reopen, delete.

Every function takes the session of the caller's transaction and commits nothing itself: the
state change, its outbox event and anything recorded alongside (an idempotency record) commit
together or not at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from taskora.domain.payloads import Payload, TaskChanged, TaskUpdated
from taskora.domain.recurrence import RuleTooCostly, check_series, zone_label
from taskora.domain.tags import ensure_tags, link_new_task, set_task_tags, tags_of
from taskora.domain.task_reads import PUBLIC_FIELDS, RANK, read_page, read_task
from taskora.errors import Conflict, Invalid, NotFound
from taskora.events.outbox import emit
from taskora.events.types import EventType
from taskora.models import Task, TaskTag
from taskora.schemas import PRIORITIES, TaskCreate, TaskPublic, TaskQuery, TasksPublic, TaskUpdate

__all__ = [
    "RANK",
    "cancel_recurrence",
    "complete_task",
    "create_task",
    "delete_task",
    "get_task",
    "list_tasks",
    "new_row",
    "reopen_task",
    "to_public",
    "update_task",
]


_TASKS = Task.__table__  # type: ignore[attr-defined]
_INSERT_TASK = _TASKS.insert().returning(_TASKS.c.id)


def to_public(row: Any, tags: list[str]) -> TaskPublic:
    """The public shape of a Task, or of a row selected with PUBLIC_COLUMNS."""
    fields = {name: getattr(row, name) for name in PUBLIC_FIELDS}
    fields["priority"] = PRIORITIES[row.priority]
    return TaskPublic(**fields, tags=tags)


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _check_recurrence(recurrence: str | None, due_at: datetime | None, zone: str | None) -> None:
    if recurrence is None:
        return
    if due_at is None:
        raise Invalid(
            "a recurring task needs due_at: the series starts there", loc=("body", "due_at")
        )
    try:
        check_series(recurrence, start=due_at, zone_name=zone)
    except RuleTooCostly as exc:
        raise Invalid(
            f"{exc}: the rule matches too rarely from this due_at; simplify it",
            loc=("body", "recurrence"),
        ) from None
    except ValueError as exc:
        raise Invalid(
            f"{exc} (UNTIL must end in Z, e.g. 20271231T000000Z)", loc=("body", "recurrence")
        ) from None


def _start_series(task: Task) -> None:
    """Make the task the first occurrence of its own series (or of none)."""
    assert task.id is not None
    recurring = task.recurrence is not None
    task.series_id = task.id if recurring else None
    task.series_start = task.due_at if recurring else None
    task.occurrence_at = task.due_at if recurring else None


def _load(session: Session, user_id: str, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.user_id != user_id:
        raise NotFound("Task not found")
    return task


def _with_tags(session: Session, task: Task) -> TaskPublic:
    assert task.id is not None
    return to_public(task, tags_of(session=session, task_ids=[task.id]).get(task.id, []))


def _emit(
    session: Session,
    type: EventType,
    task: TaskPublic,
    user_id: str,
    now: datetime,
    data: Payload | None = None,
) -> None:
    """An event about one task, by its owner; the payload is the task unless given."""
    emit(
        session=session,
        type=type,
        user_id=user_id,
        subject=f"tasks/{task.id}",
        data=TaskChanged(task=task) if data is None else data,
        actor=user_id,
        now=now,
    )


def new_row(*, user_id: str, data: TaskCreate, now: datetime) -> dict[str, Any]:
    """The tasks row of a new task, before its id (and so its series) is known; a recurrence
    its due date cannot start is refused here."""
    due_at = _utc(data.due_at)
    zone = data.timezone or (zone_label(data.due_at) if data.due_at else None)
    _check_recurrence(data.recurrence, due_at, zone)
    return {
        "user_id": user_id,
        "title": data.title,
        "description": data.description,
        "priority": RANK[data.priority],
        "status": "open",
        "due_at": due_at,
        "remind_at": _utc(data.remind_at),
        "recurrence": data.recurrence,
        "timezone": zone,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
        "reminded_at": None,
        "series_id": None,
        "series_start": None,
        "occurrence_at": None,
    }


def create_task(*, session: Session, user_id: str, data: TaskCreate, now: datetime) -> TaskPublic:
    """One INSERT ... RETURNING (no unit-of-work flush: this runs inside the single writer).
    On PostgreSQL the common create is one statement instead (``taskora.domain.task_insert``)."""
    row = new_row(user_id=user_id, data=data, now=now)
    connection = session.connection()
    task_id = connection.execute(_INSERT_TASK, row).scalar_one()
    if data.recurrence is not None:  # the first occurrence of its own series
        row.update(series_id=task_id, series_start=row["due_at"], occurrence_at=row["due_at"])
        series = {k: row[k] for k in ("series_id", "series_start", "occurrence_at")}
        connection.execute(_TASKS.update().where(_TASKS.c.id == task_id).values(series))
    link_new_task(session=session, user_id=user_id, task_id=task_id, names=data.tags, now=now)
    public = to_public(SimpleNamespace(id=task_id, **row), sorted(data.tags))
    _emit(session, EventType.TASK_CREATED, public, user_id, now)
    return public


def get_task(*, connection: Connection, user_id: str, task_id: int) -> TaskPublic:
    return read_task(connection=connection, user_id=user_id, task_id=task_id)


def update_task(
    *, session: Session, user_id: str, task_id: int, changes: TaskUpdate, now: datetime
) -> TaskPublic:
    task = _load(session, user_id, task_id)
    before = _with_tags(session, task)
    values = changes.model_dump(exclude_unset=True)
    tags = values.pop("tags", None)
    if "priority" in values:
        values["priority"] = RANK[values["priority"]]
    for moment in ("due_at", "remind_at"):
        if moment in values:
            values[moment] = _utc(values[moment])
    if "due_at" in values and "timezone" not in values and changes.due_at is not None:
        values["timezone"] = task.timezone or zone_label(changes.due_at)
    for field, value in values.items():
        setattr(task, field, value)
    _check_recurrence(task.recurrence, task.due_at, task.timezone)
    if tags is not None:
        assert task.id is not None
        tag_ids = ensure_tags(session=session, user_id=user_id, names=tags, now=now)
        set_task_tags(session=session, task_id=task.id, tag_ids=tag_ids, replace=True)
    tag_names = before.tags if tags is None else sorted(tags)  # what the task carries now
    old, new = before.model_dump(mode="json"), to_public(task, tag_names).model_dump(mode="json")
    changed = [f for f in old if f != "updated_at" and old[f] != new[f]]
    if not changed:
        return before
    if "remind_at" in changed:
        task.reminded_at = None  # a new reminder time fires again
    if "recurrence" in changed or "timezone" in changed:
        _start_series(task)  # a new rule starts a new series here
    elif "due_at" in changed and task.recurrence is not None:
        task.occurrence_at = task.due_at
    task.updated_at = now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("another occurrence of this series is already due then") from None
    after = to_public(task, tag_names)
    before_after = {"before": {f: old[f] for f in changed}, "after": {f: new[f] for f in changed}}
    _emit(
        session,
        EventType.TASK_UPDATED,
        after,
        user_id,
        now,
        TaskUpdated(task=after, **before_after),
    )
    return after


def cancel_recurrence(*, session: Session, user_id: str, task_id: int, now: datetime) -> TaskPublic:
    """Stop future occurrences: the task keeps its due date but no longer recurs."""
    changes = TaskUpdate(recurrence=None)
    return update_task(session=session, user_id=user_id, task_id=task_id, changes=changes, now=now)


def _set_status(
    session: Session, user_id: str, task_id: int, status: str, now: datetime
) -> TaskPublic:
    task = _load(session, user_id, task_id)
    if task.status == status:
        return _with_tags(session, task)
    task.status = status
    task.completed_at = now if status == "done" else None
    task.updated_at = now
    session.flush()
    public = _with_tags(session, task)
    changed = EventType.TASK_COMPLETED if status == "done" else EventType.TASK_REOPENED
    _emit(session, changed, public, user_id, now)
    return public


def complete_task(*, session: Session, user_id: str, task_id: int, now: datetime) -> TaskPublic:
    """Mark a task done; completing a done task changes nothing (and emits nothing)."""
    return _set_status(session, user_id, task_id, "done", now)


def reopen_task(*, session: Session, user_id: str, task_id: int, now: datetime) -> TaskPublic:
    """Mark a task open again; reopening an open task changes nothing."""
    return _set_status(session, user_id, task_id, "open", now)


def delete_task(*, session: Session, user_id: str, task_id: int, now: datetime) -> None:
    task = _load(session, user_id, task_id)
    public = _with_tags(session, task)
    session.execute(delete(TaskTag).where(col(TaskTag.task_id) == task.id))
    session.delete(task)
    session.flush()
    _emit(session, EventType.TASK_DELETED, public, user_id, now)


def list_tasks(
    *, connection: Connection, user_id: str, query: TaskQuery, now: datetime
) -> TasksPublic:
    return read_page(connection=connection, user_id=user_id, query=query, now=now)
