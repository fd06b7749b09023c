"""A poison event: a completed recurring task whose stored rule no consumer can compute.

The API refuses such rules now; rows like this come from before that check, or from a writer
that bypassed it. The event is genuine, so every consumer but the recurrence one applies it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from taskora.db import Database, utcnow
from taskora.domain.payloads import TaskChanged
from taskora.domain.tasks import to_public
from taskora.events.outbox import emit
from taskora.events.types import EventType
from taskora.models import DeadLetter, OutboxEvent, Task
from tests.factories import task_body

__all__ = [
    "GOOD",
    "POISON_RULES",
    "USERS",
    "assert_line_flowed",
    "audited",
    "dead_letters",
    "plant_poison",
    "write_around_poison",
]

# Each hung the recurrence consumer before it was bounded (dateutil never ends its search).
POISON_RULES = ("FREQ=DAILY;INTERVAL=0", "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30")
USERS = ("alice", "bob", "carol")
GOOD = 100


def plant_poison(db: Database, *, user: str, rule: str = POISON_RULES[0]) -> str:
    """Store the task and its ``task.completed`` event in one transaction; returns the event id."""
    now = utcnow()
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with db.write() as session:
        task = Task(
            user_id=user,
            title="poison",
            priority=1,
            status="done",
            due_at=due,
            recurrence=rule,
            timezone="+00:00",
            series_start=due,
            occurrence_at=due,
            created_at=now - timedelta(minutes=1),
            updated_at=now,
            completed_at=now,
        )
        session.add(task)
        session.flush()
        task.series_id = task.id
        emit(
            session=session,
            type=EventType.TASK_COMPLETED,
            user_id=user,
            subject=f"tasks/{task.id}",
            data=TaskChanged(task=to_public(task, [])),
            actor=user,
            now=now,
        )
        newest = select(OutboxEvent.event_id).order_by(col(OutboxEvent.id).desc()).limit(1)
        return str(session.scalar(newest))


def dead_letters(db: Database, consumer: str) -> list[str | None]:
    with db.read() as session:
        return list(
            session.scalars(
                select(col(DeadLetter.event_id)).where(col(DeadLetter.consumer) == consumer)
            ).all()
        )


def write_around_poison(client: TestClient, auth: Callable[..., dict[str, str]], rule: str) -> str:
    """GOOD task.created events from USERS, the poison one among them; returns its event id."""
    poison = ""
    for n in range(GOOD):
        if n == GOOD // 2:
            poison = plant_poison(client.app.state.db, user="mallory", rule=rule)  # type: ignore[attr-defined]
        headers = auth(USERS[n % len(USERS)])
        assert client.post("/api/tasks", json=task_body(title=f"t{n}"), headers=headers).is_success
    return poison


def audited(client: TestClient, auth: Callable[..., dict[str, str]], user: str) -> int:
    items = client.get("/api/audit", params={"limit": 200}, headers=auth(user)).json()["items"]
    return len(items)


def assert_line_flowed(
    client: TestClient, auth: Callable[..., dict[str, str]], poison: str
) -> None:
    """Every good event audited, the poison one too, and dead-lettered by recurrence alone."""
    assert sum(audited(client, auth, user) for user in USERS) == GOOD
    assert audited(client, auth, "mallory") == 1
    assert dead_letters(client.app.state.db, "recurrence") == [poison]  # type: ignore[attr-defined]
