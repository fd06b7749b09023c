"""Tags: per-user names with a colour, attached to tasks through ``task_tags``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import BigInteger, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from taskora.db import insert_ignoring_conflicts
from taskora.domain.payloads import TagDeleted, TagRenamed
from taskora.errors import Conflict, NotFound
from taskora.events.outbox import emit
from taskora.events.types import EventType
from taskora.models import Tag, TaskTag
from taskora.schemas import DEFAULT_TAG_COLOR, TagCreate, TagPublic, TagsPublic, TagUpdate

__all__ = [
    "create_tag",
    "delete_tag",
    "ensure_tags",
    "link_new_task",
    "list_tags",
    "set_task_tags",
    "tag_ids_of",
    "tags_of",
    "update_tag",
]


# Built once: a statement built per call cost more than running it (the hot path of a create).
_IDS_BY_NAME = select(col(Tag.name), col(Tag.id)).where(
    col(Tag.user_id) == bindparam("user_id"),
    col(Tag.name).in_(bindparam("names", expanding=True)),
)
_INSERT_TASK_TAGS = insert(TaskTag)
_TAGS_OF = (
    select(col(TaskTag.task_id), col(Tag.name))
    .join(Tag, col(Tag.id) == col(TaskTag.tag_id))
    .where(col(TaskTag.task_id).in_(bindparam("task_ids", expanding=True)))
)
# PostgreSQL: a task's links in one statement whatever their number (psycopg runs a list of
# parameter sets as a pipeline of statements, which cost more than the rest of a create).
_INSERT_TASK_TAGS_PG = insert(TaskTag).from_select(
    ["task_id", "tag_id"],
    select(
        bindparam("task_id", type_=BigInteger),
        func.unnest(bindparam("tag_ids", type_=postgresql.ARRAY(BigInteger))),
    ),
)

# A new task's links to the user's tags with these names, in one statement: all of a create's
# tag work when the tags exist (the common case); the ids it linked come back.
_LINK_BY_NAME = (
    insert(TaskTag)
    .from_select(
        ["task_id", "tag_id"],
        select(bindparam("task_id", type_=BigInteger), col(Tag.id)).where(
            col(Tag.user_id) == bindparam("user_id"),
            col(Tag.name).in_(bindparam("names", expanding=True)),
        ),
    )
    .returning(col(TaskTag.tag_id))
)


def _ids_by_name(session: Session, user_id: str, names: Sequence[str]) -> dict[str, int]:
    found = session.connection().execute(_IDS_BY_NAME, {"user_id": user_id, "names": list(names)})
    return {name: tag_id for name, tag_id in found if tag_id is not None}


def ensure_tags(
    *, session: Session, user_id: str, names: Sequence[str], now: datetime
) -> list[int]:
    """Ids of the user's tags with these names, creating the missing ones (race-free).
    Tags are mostly reused: one SELECT when they all exist."""
    if not names:
        return []
    ids = _ids_by_name(session, user_id, names)
    if missing := [n for n in names if n not in ids]:
        rows = [
            {"user_id": user_id, "name": n, "color": DEFAULT_TAG_COLOR, "created_at": now}
            for n in missing
        ]
        insert_ignoring_conflicts(session, Tag, rows)
        ids = _ids_by_name(session, user_id, names)
    return [ids[n] for n in names]


def link_new_task(
    *, session: Session, user_id: str, task_id: int, names: Sequence[str], now: datetime
) -> None:
    """Link a task created in this transaction to the user's tags with these names, creating
    the missing tags (race-free). One statement when every tag exists."""
    if not names:
        return
    parameters = {"task_id": task_id, "user_id": user_id, "names": list(names)}
    linked = set(session.connection().execute(_LINK_BY_NAME, parameters).scalars())
    if len(linked) == len(names):
        return
    tag_ids = ensure_tags(session=session, user_id=user_id, names=names, now=now)
    set_task_tags(
        session=session,
        task_id=task_id,
        tag_ids=[i for i in tag_ids if i not in linked],
        replace=False,
    )


def set_task_tags(*, session: Session, task_id: int, tag_ids: Iterable[int], replace: bool) -> None:
    if replace:
        session.execute(delete(TaskTag).where(col(TaskTag.task_id) == task_id))
    ids = list(tag_ids)
    if not ids:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_INSERT_TASK_TAGS_PG, {"task_id": task_id, "tag_ids": ids})
    else:  # sqlite3 runs a list of parameter sets in C
        connection.execute(_INSERT_TASK_TAGS, [{"task_id": task_id, "tag_id": i} for i in ids])


def tags_of(*, session: Session, task_ids: Sequence[int]) -> dict[int, list[str]]:
    """Tag names of each task, sorted by name (in Python, as the task reads sort them: the
    database's collation may order punctuation otherwise)."""
    if not task_ids:
        return {}
    rows = session.connection().execute(_TAGS_OF, {"task_ids": list(task_ids)}).all()
    by_task: dict[int, list[str]] = defaultdict(list)
    for task_id, name in rows:
        by_task[task_id].append(name)
    for names in by_task.values():
        names.sort()
    return by_task


def _count_by_tag(session: Session, tag_ids: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        select(col(TaskTag.tag_id), func.count())
        .where(col(TaskTag.tag_id).in_(tag_ids))
        .group_by(col(TaskTag.tag_id))
    ).all()
    return dict(rows)


def _public(session: Session, tags: Sequence[Tag]) -> list[TagPublic]:
    counts = _count_by_tag(session, [t.id for t in tags if t.id is not None])
    return [
        TagPublic(name=t.name, color=t.color, task_count=counts.get(t.id or 0, 0)) for t in tags
    ]


def _get(session: Session, user_id: str, name: str) -> Tag:
    tag = session.scalars(
        select(Tag).where(col(Tag.user_id) == user_id, col(Tag.name) == name.lower())
    ).first()
    if tag is None:
        raise NotFound("Tag not found")
    return tag


def list_tags(*, session: Session, user_id: str) -> TagsPublic:
    tags = session.scalars(
        select(Tag).where(col(Tag.user_id) == user_id).order_by(col(Tag.name))
    ).all()
    return TagsPublic(items=_public(session, tags))


def create_tag(*, session: Session, user_id: str, data: TagCreate, now: datetime) -> TagPublic:
    tag = Tag(user_id=user_id, name=data.name, color=data.color, created_at=now)
    try:
        with session.begin_nested():
            session.add(tag)
    except IntegrityError:
        raise Conflict("Tag already exists", loc=("body", "name")) from None
    return TagPublic(name=tag.name, color=tag.color, task_count=0)


def _tasks_carrying(session: Session, tag_id: int | None) -> list[int]:
    rows = session.scalars(select(col(TaskTag.task_id)).where(col(TaskTag.tag_id) == tag_id))
    return sorted(rows)


def update_tag(
    *, session: Session, user_id: str, name: str, changes: TagUpdate, now: datetime
) -> TagPublic:
    """Rename and/or recolour a tag; every task that carries it follows (a rename is an event:
    those tasks changed)."""
    tag = _get(session, user_id, name)
    old_name = tag.name
    values = changes.model_dump(exclude_unset=True)
    if values:
        try:
            with session.begin_nested():
                session.execute(update(Tag).where(col(Tag.id) == tag.id).values(**values))
        except IntegrityError:
            raise Conflict("Another tag already has that name", loc=("body", "name")) from None
        session.refresh(tag)
    if tag.name != old_name:
        renamed = TagRenamed(
            old_name=old_name, new_name=tag.name, task_ids=_tasks_carrying(session, tag.id)
        )
        _emit(session, EventType.TAG_RENAMED, tag, renamed, now)
    return _public(session, [tag])[0]


def delete_tag(*, session: Session, user_id: str, name: str, now: datetime) -> None:
    """Delete a tag; it disappears from every task that carried it (an event: they changed)."""
    tag = _get(session, user_id, name)
    deleted = TagDeleted(name=tag.name, task_ids=_tasks_carrying(session, tag.id))
    session.execute(delete(TaskTag).where(col(TaskTag.tag_id) == tag.id))
    session.execute(delete(Tag).where(col(Tag.id) == tag.id))
    _emit(session, EventType.TAG_DELETED, tag, deleted, now)


def _emit(session: Session, type: EventType, tag: Tag, data: BaseModel, now: datetime) -> None:
    """The event of a change the tag's owner made to it."""
    emit(
        session=session,
        type=type,
        user_id=tag.user_id,
        subject=f"tags/{tag.id}",
        data=data,
        actor=tag.user_id,
        now=now,
    )


def tag_ids_of(*, session: Session, task_id: int) -> list[int]:
    rows = session.scalars(select(col(TaskTag.tag_id)).where(col(TaskTag.task_id) == task_id))
    return list(rows)
