"""Locust suite for SC-008 and SC-009: a realistic, multi-tenant mix against the task API.

Run by the harness (``python -m harness load`` or the ``validate`` stage), which seeds the users
and sets the variables below; Locust monkey-patches with gevent, so it always runs in a process
of its own. By hand, against a service on 127.0.0.1:8000 with a users file the harness wrote::

    TASKORA_LOAD_USERS_FILE=reports/x/load/users.json locust -f loadtests/taskora_load.py \
        --headless --host http://127.0.0.1:8000

Variables (all optional but the users file):

=============================  =========================================================
TASKORA_LOAD_USERS_FILE        JSON list of ``{"token": ..., "tasks": [ids]}``, one per
                               identity: every simulated user takes its own
TASKORA_LOAD_USERS             peak simulated users (default 1000)
TASKORA_LOAD_PROCESSES         Locust processes the users are spread over (default 1)
TASKORA_LOAD_RAMP_S            seconds to ramp up to the peak (default 60)
TASKORA_LOAD_HOLD_S            seconds to hold the peak (default 120)
TASKORA_LOAD_RAMP_DOWN_S       seconds to ramp down (default 10)
TASKORA_LOAD_WAIT_MIN / _MAX   think time between actions, seconds (default 1 and 3)
TASKORA_LOAD_SSE_EVERY         one SSE subscriber per this many users (0: none; default 100)
TASKORA_LOAD_ONLY_LIST         1: every user only lists its tasks (throughput comparisons)
=============================  =========================================================

Request names are the rows of the report: ``list``, ``list filtered``, ``search``, ``get``,
``create``, ``update``, ``complete``, ``delete``, ``notifications``; the SSE subscribers add
``SSE connect`` and ``SSE delivery`` (request type ``SSE``: the time from the event's commit
to its receipt), which are reported apart from the API's P95. A task the simulated user created
(201) and did not delete that then answers 404 to it is data loss, not a failed request: the
request counts as answered, and a ``LOST`` row records the task (zero tolerance in SC-008).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import locust.stats
from locust import FastHttpUser, LoadTestShape, between, events, task

# Locust adds a row to its history CSV every second but writes the file out only every few
# seconds (its CSV_STATS_FLUSH_INTERVAL_SEC, a documented setting); the harness reads the file
# while the run goes on: its progress lines, and the probe it starts once every user runs.
locust.stats.CSV_STATS_FLUSH_INTERVAL_SEC = 0

USERS_FILE = "TASKORA_LOAD_USERS_FILE"
PRIORITIES = ("low", "medium", "high", "urgent")
TAGS = ("work", "home", "errand", "ops", "review", "later")
WORDS = ("invoice", "report", "groceries", "deploy", "dentist", "review", "backup", "plan")
RECURRENCES = ("FREQ=DAILY;COUNT=5", "FREQ=WEEKLY;INTERVAL=1;COUNT=4", "FREQ=MONTHLY;COUNT=6")
SSE = "SSE"
LOST = "LOST"  # request type of the rows that record a created task answering 404


class LostTask(Exception):
    """A task its creator was told exists (201) answered 404 to that creator."""


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    return float(raw) if raw.strip() else default


def _identities() -> list[dict[str, Any]]:
    path = os.environ.get(USERS_FILE)
    if not path:
        raise RuntimeError(f"set {USERS_FILE} to the users file the harness writes")
    identities = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(identities, list) or not identities:
        raise RuntimeError(f"{path} must hold a non-empty JSON list of users")
    return identities


PEAK = int(_number("TASKORA_LOAD_USERS", 1000))
RAMP_S = _number("TASKORA_LOAD_RAMP_S", 60)
HOLD_S = _number("TASKORA_LOAD_HOLD_S", 120)
RAMP_DOWN_S = _number("TASKORA_LOAD_RAMP_DOWN_S", 10)
WAIT_MIN = _number("TASKORA_LOAD_WAIT_MIN", 1)
WAIT_MAX = max(WAIT_MIN, _number("TASKORA_LOAD_WAIT_MAX", 3))
SSE_EVERY = int(_number("TASKORA_LOAD_SSE_EVERY", 100))
IDENTITIES = _identities()
# Locust processes of the run (--processes, or worker pods in a cluster): process i of n takes
# identities i, i + n, i + 2n, ... so that no two simulated users share one while there are
# enough (a shared one deletes the tasks its twin then reads: 404s that are not the service's).
PROCESSES = max(1, int(_number("TASKORA_LOAD_PROCESSES", 1)))
_NEXT = itertools.count()


def _identity(worker_index: int) -> dict[str, Any]:
    index = worker_index if worker_index >= 0 else os.getpid()  # -1: no index from the master
    return IDENTITIES[(index + PROCESSES * next(_NEXT)) % len(IDENTITIES)]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_task() -> dict[str, Any]:
    """A create body like people send: tags, a due date, sometimes a reminder or a recurrence."""
    due = datetime.now(UTC) + timedelta(days=random.randint(1, 60), hours=random.randint(0, 23))
    body: dict[str, Any] = {
        "title": f"{random.choice(WORDS)} {random.randrange(100_000)}",
        "priority": random.choice(PRIORITIES),
        "tags": random.sample(TAGS, k=random.randint(0, 3)),
        "due_at": _iso(due),
    }
    if random.random() < 0.3:
        body["description"] = " ".join(random.choices(WORDS, k=random.randint(3, 20)))
    if random.random() < 0.2:
        body["remind_at"] = _iso(due - timedelta(hours=1))
    if random.random() < 0.1:
        body["recurrence"] = random.choice(RECURRENCES)
    return body


class TaskUser(FastHttpUser):
    """One person on the API: mostly reads and filters their list, sometimes changes it."""

    wait_time = between(WAIT_MIN, WAIT_MAX)
    weight = 100

    def on_start(self) -> None:
        identity = _identity(getattr(self.environment.runner, "worker_index", 0))
        self.headers = {"Authorization": f"Bearer {identity['token']}"}
        self.tasks_known: list[int] = list(identity.get("tasks", []))
        self.created: set[int] = set()  # acknowledged by a 201 to this user, not deleted since

    def _known(self) -> int | None:
        return random.choice(self.tasks_known) if self.tasks_known else None

    def _on_task(self, method: str, task_id: int, suffix: str, name: str, **kwargs: Any) -> None:
        """A request on one task; a 404 on a task this user created is recorded as lost."""
        path = f"/api/tasks/{task_id}{suffix}"
        with self.client.request(
            method, path, headers=self.headers, name=name, catch_response=True, **kwargs
        ) as response:
            if response.status_code != 404 or task_id not in self.created:
                return
            response.success()  # answered; what it says is judged as data loss instead
            self.created.discard(task_id)
            self.tasks_known.remove(task_id)  # asked no more
            events.request.fire(
                request_type=LOST,
                name="created task answered 404",
                response_time=0,
                response_length=0,
                context={},
                exception=LostTask(f"task {task_id}: created (201), then 404 on {method} {path}"),
            )

    @task(30)
    def list_tasks(self) -> None:
        self.client.get("/api/tasks?limit=20", headers=self.headers, name="list")

    @task(15)
    def list_filtered(self) -> None:
        filters = random.choice(
            (
                "status=open&sort=due_at",
                f"priority={random.choice(PRIORITIES)}&sort=-created_at",
                f"tag={random.choice(TAGS)}",
                "status=done&sort=-created_at",
                f"due_before={_iso(datetime.now(UTC) + timedelta(days=14))}&sort=due_at",
            )
        )
        path = f"/api/tasks?limit=20&{filters}"
        self.client.get(path, headers=self.headers, name="list filtered")

    @task(8)
    def search(self) -> None:
        word = random.choice(WORDS)
        self.client.get(f"/api/tasks?q={word}&limit=20", headers=self.headers, name="search")

    @task(10)
    def get_one(self) -> None:
        task_id = self._known()
        if task_id is not None:
            self._on_task("GET", task_id, "", "get")

    @task(8)
    def create(self) -> None:
        with self.client.post(
            "/api/tasks", json=new_task(), headers=self.headers, name="create", catch_response=True
        ) as response:
            if response.status_code == 201:
                task_id = int(response.json()["id"])
                self.tasks_known.append(task_id)
                self.created.add(task_id)

    @task(6)
    def update(self) -> None:
        task_id = self._known()
        if task_id is not None:
            body = {"priority": random.choice(PRIORITIES), "tags": random.sample(TAGS, k=2)}
            self._on_task("PATCH", task_id, "", "update", json=body)

    @task(4)
    def complete(self) -> None:
        task_id = self._known()
        if task_id is not None:
            self._on_task("POST", task_id, "/complete", "complete")

    @task(2)
    def delete(self) -> None:
        if len(self.tasks_known) > 3:  # keep a few for the reads
            task_id = random.choice(self.tasks_known)
            self._on_task("DELETE", task_id, "", "delete")
            self.created.discard(task_id)
            if task_id in self.tasks_known:
                self.tasks_known.remove(task_id)

    @task(6)
    def notifications(self) -> None:
        self.client.get("/api/notifications?limit=20", headers=self.headers, name="notifications")


if os.environ.get("TASKORA_LOAD_ONLY_LIST") == "1":
    TaskUser.tasks = [TaskUser.list_tasks]


class SseUser(FastHttpUser):
    """A browser tab on the live stream: reports each event's delivery latency."""

    fixed_count = PEAK // SSE_EVERY if SSE_EVERY > 0 else 0
    wait_time = between(0.5, 1.0)
    network_timeout = 60.0  # the stream pings every few seconds

    def on_start(self) -> None:
        # A random identity, without taking one from the task users: mostly one of theirs.
        self.headers = {"Authorization": f"Bearer {random.choice(IDENTITIES)['token']}"}

    @task
    def subscribe(self) -> None:
        with self.client.get(
            "/api/events/stream", headers=self.headers, name="SSE connect", stream=True
        ) as response:
            if response.status_code != 200:
                return
            for line in iter(response.stream.readline, b""):
                if line.startswith(b"data:"):
                    self._delivered(line[5:])

    def _delivered(self, data: bytes) -> None:
        try:
            sent = datetime.fromisoformat(json.loads(data)["time"])
        except (ValueError, KeyError, TypeError):
            return
        latency_ms = (time.time() - sent.timestamp()) * 1000
        events.request.fire(
            request_type=SSE,
            name="SSE delivery",
            response_time=max(0.0, latency_ms),
            response_length=len(data),
            exception=None,
            context={},
        )


if SSE_EVERY <= 0:
    SseUser.abstract = True  # no subscribers at all (a fixed_count of 0 would fall back to weights)


class RampHoldShape(LoadTestShape):
    """Ramp to the peak, hold it, ramp down, stop."""

    def tick(self) -> tuple[int, float] | None:
        now = self.get_run_time()
        spawn_rate = max(1.0, PEAK / max(RAMP_S, 1.0))
        if now < RAMP_S:
            return max(1, int(PEAK * now / RAMP_S)), spawn_rate
        if now < RAMP_S + HOLD_S:
            return PEAK, spawn_rate
        if now < RAMP_S + HOLD_S + RAMP_DOWN_S:
            left = 1 - (now - RAMP_S - HOLD_S) / max(RAMP_DOWN_S, 1.0)
            return max(1, int(PEAK * left)), max(1.0, PEAK / max(RAMP_DOWN_S, 1.0))
        return None
