"""Keyset (cursor) pagination: the task list's sorts, and newest first by id (the audit trail,
the notifications).

A sort is a list of columns, each with its own direction; the cursor carries the sort name and
the values of those columns in the last row returned, so the next page starts strictly after it
whatever is inserted or deleted meanwhile. Newest first by id needs only the last id.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    case,
    false,
    func,
    literal,
    or_,
)
from sqlmodel import Session, col

from taskora.db import UTCDateTime
from taskora.errors import Invalid
from taskora.models import Task
from taskora.schemas import MAX_ID, PRIORITIES

__all__ = [
    "SortColumn",
    "decode_cursor",
    "encode_cursor",
    "keyset_after",
    "newest_first",
    "sort_columns",
]

FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class SortColumn:
    expression: SQLColumnExpression[Any]
    descending: bool
    decode: Callable[[Any], Any]

    def ordered(self) -> ColumnElement[Any]:
        return self.expression.desc() if self.descending else self.expression.asc()


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_ID:
        raise ValueError("not a 64-bit integer")
    return value


def _as_rank(value: Any) -> int:
    if _as_int(value) not in range(len(PRIORITIES)):
        raise ValueError("not a priority rank")
    return int(value)


def _as_str(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("not a string a database can hold")
    value.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
    return value


def _as_datetime(value: Any) -> datetime:
    parsed = datetime.fromisoformat(_as_str(value))
    if parsed.tzinfo is None:
        raise ValueError("naive datetime")
    return parsed.astimezone(UTC)  # OverflowError past year 1 or 9999, caught as invalid


def sort_columns(sort: str) -> list[SortColumn]:
    """The columns behind a sort key such as ``-due_at``; ``id`` always breaks ties."""
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    columns: list[SortColumn]
    if name == "created_at":
        columns = [SortColumn(col(Task.created_at), descending, _as_datetime)]
    elif name == "due_at":
        due = func.coalesce(col(Task.due_at), literal(FAR_FUTURE, UTCDateTime()))
        undated = case((col(Task.due_at).is_(None), 1), else_=0)
        # Tasks without a due date come last in both directions.
        columns = [SortColumn(undated, False, _as_int), SortColumn(due, descending, _as_datetime)]
    elif name == "priority":
        columns = [SortColumn(col(Task.priority), descending, _as_rank)]
    elif name == "title":
        columns = [SortColumn(func.lower(col(Task.title)), descending, _as_str)]
    else:
        raise Invalid(f"unknown sort key {sort!r}", loc=("query", "sort"))
    columns.append(SortColumn(col(Task.id), descending, _as_int))
    return columns


def keyset_after(columns: Sequence[SortColumn], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order ``columns`` define (lexicographic)."""
    clauses = []
    for i, column in enumerate(columns):
        equal_before = [c.expression == v for c, v in zip(columns[:i], values[:i], strict=True)]
        beyond = (
            column.expression < values[i] if column.descending else column.expression > values[i]
        )
        clauses.append(and_(*equal_before, beyond))
    return or_(false(), *clauses)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(sort: str, values: Sequence[Any]) -> str:
    payload = json.dumps([sort, [_jsonable(v) for v in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, columns: Sequence[SortColumn]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if cursor_sort != sort:
            raise Invalid("this cursor belongs to another sort order", loc=("query", "cursor"))
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError("wrong number of values")
        return [column.decode(value) for column, value in zip(columns, raw, strict=True)]
    except Invalid:
        raise
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise Invalid(
            "invalid cursor: pass next_cursor from the previous page", loc=("query", "cursor")
        ) from exc


def newest_first(
    session: Session, statement: Select[Any], id_column: Any, *, cursor: str | None, limit: int
) -> tuple[Sequence[Any], str | None]:
    """One page of ``statement``'s rows, newest (highest id) first, and the next page's cursor
    (None on the last page). ``cursor`` is the last id of the previous page (``schemas.IdCursor``
    has checked it)."""
    if cursor is not None:
        statement = statement.where(id_column < int(cursor))
    rows = session.scalars(statement.order_by(id_column.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return page, (str(page[-1].id) if len(rows) > limit else None)
