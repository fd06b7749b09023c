"""Tasks: create, read, list, change, complete, reopen, delete.

Every function takes the session of the caller's transaction and commits nothing itself, so a
state change and anything recorded alongside it (idempotency record, later the outbox row)
commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, func, select
from sqlmodel import Session, col

from taskora.domain.pagination import decode_cursor, encode_cursor, keyset_after, sort_columns
from taskora.domain.tags import ensure_tags, set_task_tags, tags_of
from taskora.errors import Invalid, NotFound
from taskora.models import Tag, Task, TaskTag
from taskora.schemas import PRIORITIES, TaskCreate, TaskPublic, TaskQuery, TasksPublic, TaskUpdate

__all__ = [
    "complete_task",
    "create_task",
    "delete_task",
    "get_task",
    "list_tasks",
    "reopen_task",
    "update_task",
]

RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
PUBLIC_COLUMNS = (
    col(Task.id),
    col(Task.title),
    col(Task.description),
    col(Task.priority),
    col(Task.status),
    col(Task.due_at),
    col(Task.remind_at),
    col(Task.recurrence),
    col(Task.created_at),
    col(Task.updated_at),
    col(Task.completed_at),
)


def _public(row: Any, tags: list[str]) -> TaskPublic:
    """The public shape of a Task, or of a row selected with PUBLIC_COLUMNS."""
    return TaskPublic(
        id=row.id,
        title=row.title,
        description=row.description,
        priority=PRIORITIES[row.priority],
        status=row.status,
        tags=tags,
        due_at=row.due_at,
        remind_at=row.remind_at,
        recurrence=row.recurrence,
        created_at=row.created_at,
        updated_at=row.updated_at,
        completed_at=row.completed_at,
    )


def _check_recurrence(recurrence: str | None, due_at: datetime | None) -> None:
    if recurrence is not None and due_at is None:
        raise Invalid(
            "a recurring task needs due_at: the series starts there", loc=("body", "due_at")
        )


def _load(session: Session, user_id: str, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.user_id != user_id:
        raise NotFound("Task not found")
    return task


def _with_tags(session: Session, task: Task) -> TaskPublic:
    assert task.id is not None
    return _public(task, tags_of(session=session, task_ids=[task.id]).get(task.id, []))


def create_task(*, session: Session, user_id: str, data: TaskCreate, now: datetime) -> TaskPublic:
    _check_recurrence(data.recurrence, data.due_at)
    task = Task(
        user_id=user_id,
        title=data.title,
        description=data.description,
        priority=RANK[data.priority],
        due_at=data.due_at,
        remind_at=data.remind_at,
        recurrence=data.recurrence,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    assert task.id is not None
    tag_ids = ensure_tags(session=session, user_id=user_id, names=data.tags, now=now)
    set_task_tags(session=session, task_id=task.id, tag_ids=tag_ids, replace=False)
    return _public(task, sorted(data.tags))


def get_task(*, session: Session, user_id: str, task_id: int) -> TaskPublic:
    return _with_tags(session, _load(session, user_id, task_id))


def update_task(
    *, session: Session, user_id: str, task_id: int, changes: TaskUpdate, now: datetime
) -> TaskPublic:
    task = _load(session, user_id, task_id)
    values = changes.model_dump(exclude_unset=True)
    tags = values.pop("tags", None)
    if "priority" in values:
        values["priority"] = RANK[values["priority"]]
    for field, value in values.items():
        setattr(task, field, value)
    _check_recurrence(task.recurrence, task.due_at)
    if tags is not None:
        assert task.id is not None
        tag_ids = ensure_tags(session=session, user_id=user_id, names=tags, now=now)
        set_task_tags(session=session, task_id=task.id, tag_ids=tag_ids, replace=True)
    task.updated_at = now
    session.flush()
    return _with_tags(session, task)


def _set_status(
    session: Session, user_id: str, task_id: int, status: str, now: datetime
) -> TaskPublic:
    task = _load(session, user_id, task_id)
    if task.status != status:
        task.status = status
        task.completed_at = now if status == "done" else None
        task.updated_at = now
        session.flush()
    return _with_tags(session, task)


def complete_task(*, session: Session, user_id: str, task_id: int, now: datetime) -> TaskPublic:
    """Mark a task done; completing a done task changes nothing."""
    return _set_status(session, user_id, task_id, "done", now)


def reopen_task(*, session: Session, user_id: str, task_id: int, now: datetime) -> TaskPublic:
    """Mark a task open again; reopening an open task changes nothing."""
    return _set_status(session, user_id, task_id, "open", now)


def delete_task(*, session: Session, user_id: str, task_id: int) -> None:
    task = _load(session, user_id, task_id)
    session.execute(delete(TaskTag).where(col(TaskTag.task_id) == task.id))
    session.delete(task)
    session.flush()


def _filters(user_id: str, query: TaskQuery, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [col(Task.user_id) == user_id]
    if query.status != "all":
        where.append(col(Task.status) == query.status)
    if query.priority:
        where.append(col(Task.priority).in_([RANK[p] for p in query.priority]))
    if query.tag:
        tagged = (
            select(col(TaskTag.task_id))
            .join(Tag, col(Tag.id) == col(TaskTag.tag_id))
            .where(col(Tag.user_id) == user_id, col(Tag.name).in_(query.tag))
            .group_by(col(TaskTag.task_id))
            .having(func.count() == len(set(query.tag)))
        )
        where.append(col(Task.id).in_(tagged))
    if query.q:
        where.append(
            col(Task.title).icontains(query.q, autoescape=True)
            | col(Task.description).icontains(query.q, autoescape=True)
        )
    if query.due_before is not None:
        where.append(col(Task.due_at) < query.due_before)
    if query.due_after is not None:
        where.append(col(Task.due_at) > query.due_after)
    if query.overdue is True:
        where.append((col(Task.status) == "open") & (col(Task.due_at) < now))
    elif query.overdue is False:
        where.append(
            (col(Task.status) != "open") | col(Task.due_at).is_(None) | (col(Task.due_at) >= now)
        )
    return where


def list_tasks(*, session: Session, user_id: str, query: TaskQuery, now: datetime) -> TasksPublic:
    columns = sort_columns(query.sort)
    where = _filters(user_id, query, now)
    if query.cursor:
        where.append(keyset_after(columns, decode_cursor(query.cursor, query.sort, columns)))
    statement = (
        select(*PUBLIC_COLUMNS, *(c.expression.label(f"sort_{i}") for i, c in enumerate(columns)))
        .where(*where)
        .order_by(*(c.ordered() for c in columns))
        .limit(query.limit + 1)
    )
    rows: Sequence[Row[Any]] = session.execute(statement).all()
    page, more = rows[: query.limit], len(rows) > query.limit
    tags = tags_of(session=session, task_ids=[row.id for row in page])
    next_cursor = None
    if more:
        last = page[-1]
        next_cursor = encode_cursor(query.sort, list(last[len(PUBLIC_COLUMNS) :]))
    return TasksPublic(
        items=[_public(row, tags.get(row.id, [])) for row in page], next_cursor=next_cursor
    )
