"""Newest-first pages keyed by id, as the audit trail and the notifications list them: the
cursor is the id of the last row of the previous page (validated by ``schemas.IdCursor``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlmodel import Session

__all__ = ["newest_first"]


def newest_first(
    session: Session, statement: Select[Any], id_column: Any, *, cursor: str | None, limit: int
) -> tuple[Sequence[Any], str | None]:
    """One page of ``statement``'s rows, newest (highest id) first, and the next page's cursor
    (None on the last page)."""
    if cursor is not None:
        statement = statement.where(id_column < int(cursor))
    rows = session.scalars(statement.order_by(id_column.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return page, (str(page[-1].id) if len(rows) > limit else None)
