"""Locust scenario for the core task API: list (weight 3) and create (weight 1).

Each simulated user takes its own bearer token from a JSON list of tokens whose path is in
``TASKORA_BENCH_TOKENS``. The runner ``loadtests/benchmark_core.py`` mints the tokens, seeds
tasks for every user and starts Locust in a subprocess; run that rather than this file.

To run it by hand against a service already listening on 127.0.0.1:8000::

    TASKORA_BENCH_TOKENS=/tmp/tokens.json locust -f loadtests/core_api.py --headless \
        -u 50 -r 10 -t 30s --host http://127.0.0.1:8000

Think time between tasks is ``between(1, 3)`` seconds; override it with
``TASKORA_BENCH_WAIT_MIN`` and ``TASKORA_BENCH_WAIT_MAX`` (seconds, floats).
"""

from __future__ import annotations

import itertools
import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

TOKENS_ENV = "TASKORA_BENCH_TOKENS"
PRIORITIES = ("low", "medium", "high", "urgent")
TAGS = ("work", "home", "errand", "ops", "review")


def _load_tokens() -> list[str]:
    path = os.environ.get(TOKENS_ENV)
    if not path:
        raise RuntimeError(f"set {TOKENS_ENV} to a JSON file holding a list of bearer tokens")
    tokens = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(tokens, list) or not tokens:
        raise RuntimeError(f"{path} must hold a non-empty JSON list of tokens")
    return [str(token) for token in tokens]


def _wait_bounds() -> tuple[float, float]:
    low = float(os.environ.get("TASKORA_BENCH_WAIT_MIN", "1"))
    high = float(os.environ.get("TASKORA_BENCH_WAIT_MAX", "3"))
    return low, max(low, high)


TOKENS = _load_tokens()
_NEXT_TOKEN = itertools.count()  # users spawn in one process, so a plain counter is enough


def task_payload() -> dict[str, Any]:
    """A realistic create body: random priority, up to two tags, a due date in the future."""
    due = datetime.now(UTC) + timedelta(days=random.randint(1, 60))
    return {
        "title": f"bench task {random.randrange(1_000_000)}",
        "priority": random.choice(PRIORITIES),
        "tags": random.sample(TAGS, k=random.randint(0, 2)),
        "due_at": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class TaskUser(FastHttpUser):
    """One person using the API: mostly reads their list, sometimes adds a task."""

    wait_time = between(*_wait_bounds())

    def on_start(self) -> None:
        token = TOKENS[next(_NEXT_TOKEN) % len(TOKENS)]
        self.auth_headers = {"Authorization": f"Bearer {token}"}

    @task(3)
    def list_tasks(self) -> None:
        self.client.get("/api/tasks?limit=50", headers=self.auth_headers, name="list")

    @task(1)
    def create_task(self) -> None:
        body = task_payload()
        self.client.post("/api/tasks", json=body, headers=self.auth_headers, name="create")
