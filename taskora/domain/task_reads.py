"""Reading tasks: one task, or one page of the list, each in a single statement.

The hot paths of the API. A statement per page carries the task's columns and its tags
aggregated in SQL (SQLite ``group_concat``, PostgreSQL ``array_agg``), and is built once per
*shape* of query (which filters are present, the sort, the dialect): values travel as bound
parameters, so SQLAlchemy reuses the compiled form and its result metadata on every call. A
page is validated into its public model in one call, and serialised once by the route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Executable,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel import col

from taskora.domain.pagination import decode_cursor, encode_cursor, keyset_after, sort_columns
from taskora.errors import NotFound
from taskora.models import Tag, Task, TaskTag
from taskora.schemas import PRIORITIES, TaskPublic, TaskQuery, TasksPublic

__all__ = ["PUBLIC_COLUMNS", "PUBLIC_FIELDS", "RANK", "read_page", "read_task"]

RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
# The ASCII unit separator: no tag name holds it (``schemas.TagName`` admits [A-Za-z0-9_.:-]).
TAG_SEPARATOR = "\x1f"
# The fields of TaskPublic stored as columns (its tags come aggregated), in its order.
PUBLIC_FIELDS = tuple(name for name in TaskPublic.model_fields if name != "tags")
PUBLIC_COLUMNS = tuple(col(getattr(Task, name)) for name in PUBLIC_FIELDS)


def _tags_column(dialect: str) -> ColumnElement[Any]:
    """The task's tag names in one value: joined by ``TAG_SEPARATOR`` on SQLite (splitting it
    costs a fourteenth of parsing a JSON array), an array on PostgreSQL."""
    names = col(Tag.name)
    aggregate = (
        func.group_concat(names, TAG_SEPARATOR)
        if dialect == "sqlite"
        else func.array_agg(aggregate_order_by(names, names))
    )
    return (
        select(aggregate)
        .select_from(TaskTag)
        .join(Tag, col(Tag.id) == col(TaskTag.tag_id))
        .where(col(TaskTag.task_id) == col(Task.id))
        .scalar_subquery()
        .label("tags")
    )


def _tag_names(value: str | list[str] | None) -> list[str]:
    names = value.split(TAG_SEPARATOR) if isinstance(value, str) else value or []
    return sorted(names)


def _public(row: Any) -> dict[str, Any]:
    """A row of the statements below as the fields of TaskPublic."""
    fields = dict(zip(PUBLIC_FIELDS, row, strict=False))
    fields["priority"] = PRIORITIES[fields["priority"]]
    fields["tags"] = _tag_names(row.tags)
    return fields


@lru_cache(maxsize=8)
def _task_statement(dialect: str) -> Executable:
    return select(*PUBLIC_COLUMNS, _tags_column(dialect)).where(
        col(Task.id) == bindparam("task_id"), col(Task.user_id) == bindparam("user_id")
    )


def read_task(*, connection: Connection, user_id: str, task_id: int) -> TaskPublic:
    """One of the user's tasks with its tags; another user's task does not exist (404)."""
    statement = _task_statement(connection.dialect.name)
    row = connection.execute(statement, {"task_id": task_id, "user_id": user_id}).first()
    if row is None:
        raise NotFound("Task not found")
    return TaskPublic.model_validate(_public(row))


@dataclass(frozen=True)
class _Shape:
    """What decides a list statement's SQL text (values are bound parameters)."""

    dialect: str
    sort: str
    status: bool
    priority: bool
    tag: bool
    q: bool
    due_before: bool
    due_after: bool
    overdue: bool | None
    cursor: bool

    @classmethod
    def of(cls, dialect: str, query: TaskQuery) -> _Shape:
        return cls(
            dialect,
            query.sort,
            query.status != "all",
            bool(query.priority),
            bool(query.tag),
            bool(query.q),
            query.due_before is not None,
            query.due_after is not None,
            query.overdue,
            bool(query.cursor),
        )


def _filters(shape: _Shape) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [col(Task.user_id) == bindparam("user_id")]
    if shape.status:
        where.append(col(Task.status) == bindparam("status"))
    if shape.priority:
        where.append(col(Task.priority).in_(bindparam("priorities", expanding=True)))
    if shape.tag:
        tagged = (
            select(col(TaskTag.task_id))
            .join(Tag, col(Tag.id) == col(TaskTag.tag_id))
            .where(
                col(Tag.user_id) == bindparam("user_id"),
                col(Tag.name).in_(bindparam("tags", expanding=True)),
            )
            .group_by(col(TaskTag.task_id))
            .having(func.count() == bindparam("tag_count"))
        )
        where.append(col(Task.id).in_(tagged))
    if shape.q:
        pattern: BindParameter[str] = bindparam("q")
        where.append(
            col(Task.title).icontains(pattern, escape="/")
            | col(Task.description).icontains(pattern, escape="/")
        )
    due = col(Task.due_at)
    # Compared with a column, a bound value takes the column's type (UTCDateTime here).
    if shape.due_before:
        where.append(due < bindparam("due_before"))
    if shape.due_after:
        where.append(due > bindparam("due_after"))
    now: BindParameter[Any] = bindparam("now")
    if shape.overdue is True:
        where.append((col(Task.status) == "open") & (due < now))
    elif shape.overdue is False:
        where.append((col(Task.status) != "open") | due.is_(None) | (due >= now))
    return where


@lru_cache(maxsize=512)
def _page_statement(shape: _Shape) -> Executable:
    columns = sort_columns(shape.sort)
    where = _filters(shape)
    if shape.cursor:
        after: list[Any] = [bindparam(f"after_{i}") for i in range(len(columns))]
        where.append(keyset_after(columns, after))
    sort_values: list[Any] = [c.expression.label(f"sort_{i}") for i, c in enumerate(columns)]
    return (
        select(*PUBLIC_COLUMNS, _tags_column(shape.dialect), *sort_values)
        .where(*where)
        .order_by(*(c.ordered() for c in columns))
        .limit(bindparam("limit"))
    )


def _escape_like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _parameters(user_id: str, query: TaskQuery, now: datetime) -> dict[str, Any]:
    tags = sorted(set(query.tag))
    return {
        "user_id": user_id,
        "status": query.status,
        "priorities": [RANK[p] for p in query.priority],
        "tags": tags,
        "tag_count": len(tags),
        "q": _escape_like(query.q or ""),
        "now": now,
        "due_before": query.due_before,
        "due_after": query.due_after,
        "limit": query.limit + 1,
    }


def read_page(
    *, connection: Connection, user_id: str, query: TaskQuery, now: datetime
) -> TasksPublic:
    """One keyset page of the user's tasks, filtered and sorted as the query asks."""
    shape = _Shape.of(connection.dialect.name, query)
    parameters = _parameters(user_id, query, now)
    if query.cursor:
        after = decode_cursor(query.cursor, query.sort, sort_columns(query.sort))
        parameters.update({f"after_{i}": value for i, value in enumerate(after)})
    rows: Sequence[Any] = connection.execute(_page_statement(shape), parameters).all()
    page, more = rows[: query.limit], len(rows) > query.limit
    next_cursor = None
    if more:
        next_cursor = encode_cursor(query.sort, list(page[-1][len(PUBLIC_COLUMNS) + 1 :]))
    return TasksPublic.model_validate(
        {"items": [_public(row) for row in page], "next_cursor": next_cursor}
    )
