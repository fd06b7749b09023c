"""Crash tests with real processes: SIGKILL mid-burst, restart, and prove nothing was lost.

A writer records every operation Jepsen-style: ``ok`` (acknowledged), ``info`` (no answer: it
may or may not have happened). After the crash the service restarts on the same database, the
``info`` creates are retried with their Idempotency-Key, and the checks are:
every acknowledged write is present; no write exists twice; every event reached every consumer
exactly once in effect; every completed recurring task has exactly one next occurrence.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import func, select

from taskora.db import Database
from taskora.domain.consumers import build_consumers
from taskora.models import AuditEntry, OutboxEvent, ProcessedEvent, Task
from tests.process import Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class Ledger:
    acked: dict[str, int] = field(default_factory=dict)  # idempotency key -> task id
    unknown: list[str] = field(default_factory=list)  # keys whose create got no answer
    completed: list[int] = field(default_factory=list)  # recurring tasks acknowledged done


BURST_BEFORE_KILL = 30


def _body(i: int) -> dict[str, object]:
    body: dict[str, object] = {"title": f"write {i}", "tags": ["burst"]}
    if i % 4 == 0:
        body.update(recurrence="FREQ=MONTHLY;COUNT=12", due_at="2028-01-31T09:00:00+01:00")
    return body


def _write_until_killed(server: Server, ledger: Ledger, killed: threading.Event) -> None:
    headers = server.headers("writer")
    i = 0
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=5) as http:
        while not killed.is_set() or i < 5:
            key = f"k{i}"
            try:
                response = http.post("/api/tasks", json=_body(i), headers={"Idempotency-Key": key})
                response.raise_for_status()
                ledger.acked[key] = response.json()["id"]
                if i % 4 == 0 and http.post(f"/api/tasks/{ledger.acked[key]}/complete").is_success:
                    ledger.completed.append(ledger.acked[key])
            except httpx.HTTPError:
                ledger.unknown.append(key)
                if killed.is_set():
                    return
            i += 1


def _consumed_everything(db: Database) -> bool:
    with db.read() as session:
        events = session.scalars(select(OutboxEvent)).all()
        processed = set(
            session.execute(select(ProcessedEvent.consumer, ProcessedEvent.event_id)).all()
        )
        audited = session.scalar(select(func.count()).select_from(AuditEntry))
    expected = {
        (c.name, e.event_id) for e in events for c in build_consumers() if c.wants(e.type, e.topic)
    }
    return all(e.dispatched_at for e in events) and processed == expected and audited == len(events)


def _crash_and_recover(server: Server, kill) -> Ledger:  # type: ignore[no-untyped-def]
    server.start()
    ledger, killed = Ledger(), threading.Event()
    writer = threading.Thread(target=_write_until_killed, args=(server, ledger, killed))
    writer.start()
    try:
        deadline = time.monotonic() + 30  # kill mid-burst, once enough writes were acknowledged
        while len(ledger.acked) < BURST_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.05)
        kill(server)
    finally:
        killed.set()
        writer.join(timeout=30)
    assert not writer.is_alive(), "the writer did not stop after the kill"
    if server.process is not None and server.process.poll() is not None:
        server.start()  # the whole service died: start it again on the same database
    with httpx.Client(
        base_url=server.base_url, headers=server.headers("writer"), timeout=10
    ) as http:
        for key in ledger.unknown:  # retry what got no answer, as a client would
            i = int(key[1:])
            response = http.post("/api/tasks", json=_body(i), headers={"Idempotency-Key": key})
            response.raise_for_status()
            ledger.acked[key] = response.json()["id"]
    return ledger


def _check(database_url: str, ledger: Ledger) -> None:
    db = Database(database_url)
    try:
        deadline = time.monotonic() + 60
        while not _consumed_everything(db) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _consumed_everything(db), "an event was not applied by every consumer exactly once"
        with db.read() as session:
            tasks = session.scalars(select(Task).where(Task.user_id == "writer")).all()
        by_id = {t.id: t for t in tasks}
        assert len(ledger.acked) >= BURST_BEFORE_KILL, "the burst was too short to mean anything"
        assert set(ledger.acked.values()) <= by_id.keys(), "an acknowledged write is missing"
        titles = [t.title for t in tasks if t.series_id is None or t.id == t.series_id]
        assert len(titles) == len(set(titles)), "a write exists twice"
        for task_id in ledger.completed:
            following = [t for t in tasks if t.series_id == task_id and t.id != task_id]
            assert len(following) == 1, f"series {task_id}: {len(following)} next occurrences"
    finally:
        db.dispose()


def _kill_everything(server: Server) -> None:
    server.kill()


def _kill_one_worker(server: Server) -> None:
    """SIGKILL one worker (the relay and consumers die with it); its supervisor restarts it."""
    assert server.process is not None
    children = subprocess.run(
        ["pgrep", "-P", str(server.process.pid), "-f", "spawn_main"], capture_output=True, text=True
    ).stdout.split()
    os.kill(int(children[0]), signal.SIGKILL)


@pytest.fixture(params=["inline", pytest.param("redis", marks=pytest.mark.redis)])
def bus_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "inline":
        return {"TASKORA_BUS": "inline"}
    return {
        "TASKORA_BUS": "redis",
        "TASKORA_REDIS_URL": request.getfixturevalue("redis_url"),
        "TASKORA_REDIS_PREFIX": f"taskora-crash-{uuid.uuid4().hex[:12]}",
    }


def _kill_for(database_url: str, bus_env: dict[str, str]) -> Callable[[Server], None]:
    """What is killed, chosen so that the four runs cover every pair of (database, bus, what is
    killed) once: SQLite with the inline bus and PostgreSQL with Redis lose one worker, the two
    other pairs the whole service."""
    paired = database_url.startswith("sqlite") == (bus_env["TASKORA_BUS"] == "inline")
    return _kill_one_worker if paired else _kill_everything


def test_sigkill_mid_burst_loses_nothing(database_url, tmp_path, bus_env) -> None:
    kill = _kill_for(database_url, bus_env)
    server = Server(database_url, tmp_path / "serve.log", workers=2, env=bus_env)
    try:
        ledger = _crash_and_recover(server, kill)
        _check(database_url, ledger)
    finally:
        server.kill()
