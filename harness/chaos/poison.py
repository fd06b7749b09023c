"""Poison for the ``poison-event-under-load`` experiment: what a hostile user tries through the
API, and events no consumer can apply, planted where the service's own events start.

Through the API a hostile user sends recurrence rules that never yield or cost seconds per
occurrence and a forged CloudEvent to the consumers' Dapr route; each must be refused (4xx).
Behind the API (the database of a target the harness started, as an SRE would reach it) two
events are planted that no consumer can apply: a ``task.completed`` whose task's stored rule
never yields (a row written before the rules were validated), and a ``task.completed`` carrying
no task. Each must end in the dead letters while every other event flows on.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from harness.errors import HarnessError
from harness.targets import Deployment

__all__ = ["HOSTILE_RULES", "Poison", "dead_lettered", "plant_poison"]

HOSTILE_RULES = (
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=MINUTELY;BYSECOND=0,1,2",
)
NEVER_YIELDS = "FREQ=DAILY;INTERVAL=0"


@dataclass
class Poison:
    user: str
    refused: dict[str, int] = field(default_factory=dict)  # what was tried -> status
    planted: list[str] = field(default_factory=list)  # event ids that must be dead-lettered
    completed_task: int | None = None  # its completion's event must be dead-lettered too


def _engine_url(database_url: str) -> str:
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _api_attempts(http: httpx.Client, poison: Poison, victim: str) -> None:
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for rule in HOSTILE_RULES:
        body = {"title": "hostile", "due_at": due, "recurrence": rule}
        poison.refused[f"rule {rule}"] = http.post("/api/tasks", json=body).status_code
    phishing = {"task": {"id": 1, "title": "verify your account at evil.example"}}
    forged = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/forged",
        "type": "reminder.due",
        "userid": victim,
        "data": phishing,
    }
    answer = http.post(
        "/dapr/events/reminder-events",
        json=forged,
        headers={"Content-Type": "application/cloudevents+json"},
    )
    poison.refused["forged reminder event"] = answer.status_code


def _recurring_task(http: httpx.Client) -> int:
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"title": "a rule from before validation", "due_at": due, "recurrence": "FREQ=DAILY"}
    created = http.post("/api/tasks", json=body)
    if created.status_code != 201:
        raise HarnessError(f"the hostile user's recurring task was refused: {created.text}")
    return int(created.json()["id"])


def _plant(connection: Connection, poison: Poison, task_id: int) -> None:
    """The task's stored rule becomes one that never yields; an event carrying no task joins
    the outbox."""
    connection.execute(
        text("UPDATE tasks SET recurrence = :rule WHERE id = :id"),
        {"rule": NEVER_YIELDS, "id": task_id},
    )
    now = datetime.now(UTC)
    event_id = str(uuid.uuid4())
    connection.execute(
        text(
            "INSERT INTO outbox (event_id, topic, type, subject, user_id, actor, time, data, "
            "attempts) VALUES (:event_id, 'task-events', 'task.completed', 'tasks/0', :user, "
            ":user, :time, :data, 0)"
        ),
        {
            "event_id": event_id,
            "user": poison.user,
            "data": json.dumps({"task": "none"}),
            # the service keeps naive UTC on SQLite, timestamptz on PostgreSQL
            "time": now.replace(tzinfo=None) if connection.dialect.name == "sqlite" else now,
        },
    )
    poison.planted.append(event_id)


def plant_poison(deployment: Deployment, database_url: str, victim: str) -> Poison:
    """Try the hostile requests, then plant the two poison events; returns what was done."""
    poison = Poison(user=f"hostile-{uuid.uuid4().hex[:10]}")
    engine = create_engine(_engine_url(database_url))
    try:
        with httpx.Client(
            base_url=deployment.base_url, headers=deployment.headers(poison.user), timeout=10
        ) as http:
            _api_attempts(http, poison, victim)
            task_id = _recurring_task(http)
            with engine.begin() as connection:
                _plant(connection, poison, task_id)
            completed = http.post(f"/api/tasks/{task_id}/complete")
            if completed.status_code != 200:
                raise HarnessError(f"the hostile user could not complete its task: {completed}")
            poison.completed_task = task_id
    finally:
        engine.dispose()
    return poison


def dead_lettered(database_url: str, poison: Poison, within_s: float) -> list[str]:
    """What of the poison is not in the dead letters after ``within_s`` seconds (empty: all)."""
    engine = create_engine(_engine_url(database_url))
    deadline = time.monotonic() + within_s
    query = text("SELECT consumer, event_id, payload FROM dead_letters")
    try:
        while True:
            with engine.connect() as connection:
                rows = connection.execute(query).all()
            ids = {row.event_id for row in rows}
            missing = [f"planted event {e}" for e in poison.planted if e not in ids]
            if not any(r.consumer == "recurrence" and poison.user in r.payload for r in rows):
                missing.append(
                    f"the completion of task {poison.completed_task} (its rule never yields)"
                )
            if not missing or time.monotonic() >= deadline:
                return missing
            time.sleep(0.5)
    finally:
        engine.dispose()
