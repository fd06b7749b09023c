"""A create is one statement on PostgreSQL (``taskora.domain.task_insert``) and a transaction
elsewhere (``tasks.create_task``). Both store and announce the same task: the row, its tags
and its ``task.created`` event, all or nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from taskora.db import Database, utcnow
from taskora.domain import tags
from taskora.domain.task_insert import insert_task
from taskora.models import OutboxEvent, Task
from taskora.schemas import TaskCreate
from tests.conftest import outbox
from tests.factories import task_body
from tests.waiting import wait_until

BODIES = {
    "plain": task_body(tags=["home", "work"]),
    "untagged": task_body(),
    "recurring": task_body(
        due_at="2027-03-01T09:00:00+01:00",
        recurrence="FREQ=WEEKLY;BYDAY=MO",
        timezone="Europe/Paris",
        tags=["home"],
    ),
    "everything": task_body(
        title="Ünïcode ✓ \"quoted\" and 'single'",
        description="line one\nline two",
        priority="high",
        due_at="2027-01-15T17:30:00Z",
        remind_at="2027-01-15T17:00:00Z",
        tags=["b", "a", "c"],
    ),
}


def _announced(client, task_id: int) -> Any:
    (row,) = [row for row in outbox(client) if row.subject == f"tasks/{task_id}"]
    return row


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_a_create_stores_and_announces_the_task_it_answered(client, auth, body) -> None:
    """The first create makes the tags (a transaction on every database); the second finds
    them (one statement on PostgreSQL): both must store and announce what they answered."""
    answers = [client.post("/api/tasks", json=body, headers=auth()) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    first, second = (a.json() for a in answers)
    for created in (first, second):
        assert client.get(f"/api/tasks/{created['id']}", headers=auth()).json() == created
        row = _announced(client, created["id"])
        assert (row.type, row.user_id, row.actor) == ("task.created", "alice", "alice")
        assert json.loads(row.data) == {"task": created}
    recurring = body.get("recurrence") is not None
    assert second["series_id"] == (second["id"] if recurring else None)
    differ = {"id", "series_id", "created_at", "updated_at"}
    assert {k: v for k, v in first.items() if k not in differ} == {
        k: v for k, v in second.items() if k not in differ
    }


def test_sqlite_has_no_write_statement(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'taskora.db'}")
    try:
        with pytest.raises(RuntimeError, match="write gate"), database.write_statement():
            pass
    finally:
        database.dispose()


@pytest.fixture
def postgres(postgres_server_url: str) -> Iterator[Database]:
    """The test process's PostgreSQL database, with alice's tag "home"."""
    database = Database(postgres_server_url)
    with database.write() as session:
        session.execute(Task.__table__.delete())  # type: ignore[attr-defined]
        tags.ensure_tags(session=session, user_id="alice", names=["home"], now=utcnow())
    yield database
    database.dispose()


def _counts(database: Database) -> tuple[int, int]:
    """Alice's tasks and task events."""
    with database.read() as session:
        count = select(func.count())
        task_count = session.scalar(count.select_from(Task).where(Task.user_id == "alice"))
        events = count.select_from(OutboxEvent).where(OutboxEvent.user_id == "alice")
        return int(task_count or 0), int(session.scalar(events) or 0)


def _insert(database: Database, names: list[str]) -> Any:
    data = TaskCreate.model_validate(task_body(tags=names))
    with database.write_statement() as connection:
        return insert_task(connection=connection, user_id="alice", data=data, now=utcnow())


@pytest.mark.postgres
def test_the_statement_creates_with_existing_tags_and_writes_nothing_for_a_new_one(
    postgres: Database,
) -> None:
    before = _counts(postgres)
    assert _insert(postgres, ["home", "new"]) is None
    assert _counts(postgres) == before
    created = _insert(postgres, ["home"])
    assert created is not None and created.tags == ["home"]
    assert _counts(postgres) == (before[0] + 1, before[1] + 1)


_LOCK_WAITS = """SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'"""


@pytest.mark.postgres
def test_a_tag_deleted_while_the_statement_runs_leaves_nothing(
    postgres: Database, postgres_server_url: str
) -> None:
    """The statement saw the tag; its deletion commits while the statement waits for the tag's
    row lock (the link's foreign key check): the link fails and the whole create with it."""
    before = _counts(postgres)
    with psycopg.connect(postgres_server_url) as deleter, ThreadPoolExecutor(1) as pool:
        deleter.execute("DELETE FROM tags WHERE user_id = 'alice' AND name = 'home'")
        pending = pool.submit(_insert, postgres, ["home"])
        with psycopg.connect(postgres_server_url, autocommit=True) as watcher:
            wait_until(
                lambda: watcher.execute(_LOCK_WAITS).fetchone() != (0,),
                what="the create waiting for the deleted tag's row lock",
            )
        deleter.commit()
        assert pending.result(timeout=10) is None
    assert _counts(postgres) == before
