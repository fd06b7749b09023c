"""Failpoints: parsed once from TASKORA_FAILPOINTS, refused when malformed or in production, off
unless set, and each planted fault breaks what the harness checks."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx_sse import connect_sse
from sqlalchemy import func, select

import taskora
from taskora.api.deps import StreamClaims
from taskora.api.faults import FaultMiddleware
from taskora.api.routes.events import event_stream
from taskora.app import create_app
from taskora.cli import main
from taskora.db import Database
from taskora.domain.consumers import build_consumers
from taskora.domain.faults import with_faults
from taskora.errors import ConfigurationError
from taskora.events.bus import InlineBus
from taskora.events.delivery import Outcome, deliver
from taskora.events.envelope import TASK_EVENTS, CloudEvent
from taskora.events.stream import EventStream
from taskora.failpoints import OFF, Failpoints
from taskora.models import DeadLetter, IdempotencyRecord, ProcessedEvent, Task
from taskora.settings import Settings
from tests.conftest import drain, outbox
from tests.factories import task_body
from tests.process import running
from tests.waiting import wait_until

ALL = (
    "sse_delay=3, drop_events=0.25,lose_writes=0.5 ,late_reminders=60,"
    "no_recurrence=1,error_rate=0.05,slow_requests=250,skip_owner_check=1,silent_poison=1,"
    "skew_recurrence=1,slow_worker=2,busy_above=20,"
)


# Parsing


def test_every_failpoint_parses_and_prints_back() -> None:
    failpoints = Failpoints.parse(ALL)
    assert failpoints == Failpoints(
        sse_delay=3,
        drop_events=0.25,
        lose_writes=0.5,
        late_reminders=60,
        no_recurrence=True,
        error_rate=0.05,
        slow_requests=250,
        skip_owner_check=True,
        silent_poison=True,
        skew_recurrence=True,
        slow_worker=2,
        busy_above=20,
    )
    assert failpoints
    assert Failpoints.parse(str(failpoints)) == failpoints
    assert str(Failpoints.parse("error_rate=0.05,sse_delay=3")) == "sse_delay=3,error_rate=0.05"


def test_without_failpoints_nothing_changes(monkeypatch, settings, caplog) -> None:
    monkeypatch.delenv("TASKORA_FAILPOINTS", raising=False)
    off = Settings().failpoints
    assert not off and str(off) == ""
    assert off == OFF == Failpoints() == Failpoints.parse("") == Failpoints.parse(" , ")
    assert off == Failpoints.parse("error_rate=0,sse_delay=0")
    assert not Failpoints.parse("error_rate=0,no_recurrence=0")
    assert (off.sse_delay, off.drop_events, off.lose_writes, off.late_reminders) == (0, 0, 0, 0)
    assert (off.no_recurrence, off.error_rate, off.slow_requests) == (False, 0, 0)
    with caplog.at_level(logging.WARNING, logger="taskora"):
        app = create_app(settings)
    assert not [r for r in caplog.records if "failpoint" in r.getMessage()]
    assert type(app.state.db) is Database  # the plain database: no failpoints on any session
    runtime = app.state.runtime
    assert type(runtime.stream) is EventStream  # no fault wrapper around the seams
    assert type(runtime.bus) is InlineBus
    assert not any(m.cls is FaultMiddleware for m in app.user_middleware)
    assert app.dependency_overrides == {}  # the task routes' own creator and reader
    consumers = runtime.consumers
    assert [c.handle for c in consumers] == [c.handle for c in build_consumers()]
    with TestClient(app) as client:
        assert client.get("/ready").status_code == 200


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("bogus=1", "unknown failpoint 'bogus'"),
        ("sse_delay=3,Error_Rate=0.1", "'Error_Rate'"),
        ("sse_delay=soon", "'sse_delay=soon'"),
        ("drop_events=1.5", "'drop_events=1.5'"),
        ("error_rate=-0.1", "'error_rate=-0.1'"),
        ("lose_writes=nan", "'lose_writes=nan'"),
        ("slow_requests=inf", "'slow_requests=inf'"),
        ("late_reminders=-5", "'late_reminders=-5'"),
        ("no_recurrence=2", "'no_recurrence=2'"),
        ("no_recurrence=", "'no_recurrence='"),
        ("busy_above=2.5", "'busy_above=2.5'"),
        ("busy_above=-1", "'busy_above=-1'"),
        ("slow_worker=-1", "'slow_worker=-1'"),
        ("sse_delay", "'sse_delay' is not name=value"),
        ("sse_delay=1,sse_delay=2", "'sse_delay' is set twice"),
        ("sse_delay=1\nerror_rate=1", "'sse_delay=1\\nerror_rate=1'"),
    ],
)
def test_a_bad_spec_is_refused_in_one_line_naming_the_bad_part(spec: str, names: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Failpoints.parse(spec)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("TASKORA_FAILPOINTS: ")
    assert names in message


def test_settings_parse_the_environment_once_with_the_seed(monkeypatch) -> None:
    monkeypatch.setenv("TASKORA_FAILPOINTS", "error_rate=0.5,late_reminders=60")
    monkeypatch.setenv("TASKORA_FAILPOINTS_SEED", "7")
    failpoints = Settings().failpoints
    assert failpoints == Failpoints(error_rate=0.5, late_reminders=60)
    reference = random.Random(7)
    assert [failpoints.chance(0.5) for _ in range(50)] == [
        reference.random() < 0.5 for _ in range(50)
    ]
    assert Settings().model_dump()["failpoints"] == "late_reminders=60,error_rate=0.5"
    monkeypatch.setenv("TASKORA_FAILPOINTS", "error_rate=5")
    with pytest.raises(ConfigurationError, match="'error_rate=5'"):
        Settings()


def test_the_same_seed_draws_the_same_faults() -> None:
    first, second = (Failpoints.parse("drop_events=0.5", seed=3) for _ in range(2))
    draws = [first.chance(0.5) for _ in range(100)]
    assert draws == [second.chance(0.5) for _ in range(100)]
    assert 20 < sum(draws) < 80
    assert all(first.chance(1) for _ in range(100)) and not any(first.chance(0) for _ in range(100))


def test_serve_refuses_a_bad_spec_with_exit_2_and_one_line(monkeypatch, capsys) -> None:
    monkeypatch.delenv("TASKORA_ENV", raising=False)
    monkeypatch.setenv("TASKORA_FAILPOINTS", "sse_delay=3,drop_events=2")
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "TASKORA_FAILPOINTS" in err and "'drop_events=2'" in err


def test_production_refuses_to_start_with_failpoints(monkeypatch, capsys) -> None:
    production = Settings(env="production", database_url="sqlite://", jwt_secret="x" * 32)
    with pytest.raises(ConfigurationError, match="production.*TASKORA_FAILPOINTS") as caught:
        create_app(production.model_copy(update={"failpoints": Failpoints(error_rate=0.01)}))
    assert "\n" not in str(caught.value)
    create_app(production.model_copy(update={"failpoints": Failpoints.parse("error_rate=0")}))
    monkeypatch.setenv("TASKORA_ENV", "production")
    monkeypatch.setenv("TASKORA_JWT_SECRET", "y" * 40)
    monkeypatch.setenv("TASKORA_FAILPOINTS", "lose_writes=0.1")
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "production" in err and "lose_writes=0.1" in err


def test_start_up_warns_and_lists_the_active_failpoints(settings, caplog) -> None:
    failpoints = Failpoints.parse("sse_delay=3,error_rate=0.05,drop_events=0")
    with caplog.at_level(logging.WARNING, logger="taskora"):
        create_app(settings.model_copy(update={"failpoints": failpoints}))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [m for m in warnings if "failpoints active" in m] == [
        "failpoints active, faults are planted: TASKORA_FAILPOINTS=sse_delay=3,error_rate=0.05"
    ]


# Effects, through the application


@pytest.fixture
def faulty(settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """Builds a client whose settings carry the given failpoints (seeded)."""
    with ExitStack() as stack:

        def build(spec: str, seed: int = 1) -> TestClient:
            failpoints = Failpoints.parse(spec, seed=seed)
            app = create_app(settings.model_copy(update={"failpoints": failpoints}))
            return stack.enter_context(TestClient(app))

        yield build


def _count(client: TestClient, model: Any) -> int:
    with client.app.state.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def test_error_rate_1_fails_everything_but_health(faulty, auth) -> None:
    client = faulty("error_rate=1")
    assert client.get("/health").status_code == 200
    for response in (
        client.get("/ready"),
        client.get("/metrics"),
        client.get("/api/tasks", headers=auth()),
        client.post("/api/tasks", json=task_body(), headers=auth()),
    ):
        assert response.status_code == 500
        assert response.json() == {"detail": "failpoint: error_rate"}
        assert response.headers["x-request-id"]
    assert outbox(client) == [] and _count(client, Task) == 0  # the app was never called


def test_error_rate_fails_that_share_of_requests(faulty) -> None:
    client = faulty("error_rate=0.5", seed=11)
    statuses = [client.get("/ready").status_code for _ in range(100)]
    assert set(statuses) == {200, 500}
    assert 25 < statuses.count(500) < 75


def test_slow_requests_delays_only_the_api(faulty, auth) -> None:
    """A delay far above what load adds to an undelayed probe (0.44 s seen against 0.4 s)."""
    client = faulty("slow_requests=3000")
    started = time.perf_counter()
    assert client.get("/api/tasks", headers=auth()).status_code == 200
    assert time.perf_counter() - started >= 3.0
    started = time.perf_counter()
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200
    assert time.perf_counter() - started < 3.0


def test_lose_writes_1_acknowledges_a_task_that_never_exists(faulty, auth) -> None:
    client = faulty("lose_writes=1")
    created = client.post("/api/tasks", json=task_body(title="ghost"), headers=auth())
    assert created.status_code == 201
    assert created.json()["title"] == "ghost" and created.json()["id"] >= 1
    assert client.get(f"/api/tasks/{created.json()['id']}", headers=auth()).status_code == 404
    assert client.get("/api/tasks", headers=auth()).json()["items"] == []
    assert outbox(client) == []
    keyed = {**auth(), "Idempotency-Key": "k-1"}
    for _ in range(2):  # no idempotency record either: the retry is a new (lost) write
        again = client.post("/api/tasks", json=task_body(title="ghost 2"), headers=keyed)
        assert again.status_code == 201 and "idempotent-replayed" not in again.headers
        assert again.json()["title"] == "ghost 2"
        assert client.get(f"/api/tasks/{again.json()['id']}", headers=auth()).status_code == 404
    assert _count(client, IdempotencyRecord) == 0 and _count(client, Task) == 0
    assert outbox(client) == []


def test_lose_keyless_1_loses_only_creates_sent_without_a_key(faulty, auth) -> None:
    client = faulty("lose_keyless=1")
    keyless = client.post("/api/tasks", json=task_body(title="keyless"), headers=auth())
    assert keyless.status_code == 201
    assert client.get(f"/api/tasks/{keyless.json()['id']}", headers=auth()).status_code == 404
    keyed = {**auth(), "Idempotency-Key": "k-1"}
    kept = client.post("/api/tasks", json=task_body(title="keyed"), headers=keyed)
    assert kept.status_code == 201
    assert client.get(f"/api/tasks/{kept.json()['id']}", headers=auth()).status_code == 200
    assert [t["title"] for t in client.get("/api/tasks", headers=auth()).json()["items"]] == [
        "keyed"
    ]


def test_skip_owner_check_serves_another_users_task_by_id_only(faulty, auth) -> None:
    client = faulty("skip_owner_check=1")
    created = client.post("/api/tasks", json=task_body(title="alice's"), headers=auth("alice"))
    task_id = created.json()["id"]
    leaked = client.get(f"/api/tasks/{task_id}", headers=auth("mallory"))
    assert leaked.status_code == 200 and leaked.json()["title"] == "alice's"
    assert client.get("/api/tasks", headers=auth("mallory")).json()["items"] == []
    assert client.delete(f"/api/tasks/{task_id}", headers=auth("mallory")).status_code == 404


def test_lose_writes_loses_that_share_of_creates(faulty, auth) -> None:
    client = faulty("lose_writes=0.5", seed=5)
    titles = []
    for i in range(30):
        headers = {**auth(), "Idempotency-Key": f"k{i}"} if i % 2 else auth()
        response = client.post("/api/tasks", json=task_body(title=f"t{i}"), headers=headers)
        assert response.status_code == 201
        titles.append(response.json()["title"])
    stored = {t["title"] for t in client.get("/api/tasks", headers=auth()).json()["items"]}
    assert stored < set(titles) and 5 < len(stored) < 25
    assert {e.subject for e in outbox(client)} == {
        f"tasks/{t['id']}" for t in client.get("/api/tasks", headers=auth()).json()["items"]
    }


def _remind_in_past(seconds: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def test_late_reminders_claims_only_reminders_that_late(faulty, client, auth) -> None:
    late = faulty("late_reminders=60")
    just_due = late.post(
        "/api/tasks", json=task_body(remind_at=_remind_in_past(2)), headers=auth()
    ).json()
    long_due = late.post(
        "/api/tasks", json=task_body(remind_at=_remind_in_past(120)), headers=auth()
    ).json()
    # Through the cron route: the app's own wiring hands the failpoint to the scan.
    assert late.post("/cron/reminder-check").json()["done"] == 1
    reminders = [e.subject for e in outbox(late) if e.type == "reminder.due"]
    assert reminders == [f"tasks/{long_due['id']}"]
    assert client.post("/cron/reminder-check").json()["done"] == 1  # same database, no failpoint
    reminders = [e.subject for e in outbox(client) if e.type == "reminder.due"]
    assert reminders == [f"tasks/{long_due['id']}", f"tasks/{just_due['id']}"]


def test_no_recurrence_creates_no_next_occurrence_but_processes_the_event(faulty, auth) -> None:
    client = faulty("no_recurrence=1")
    body = task_body(recurrence="FREQ=DAILY", due_at="2028-01-01T09:00:00Z")
    first = client.post("/api/tasks", json=body, headers=auth()).json()
    assert client.post(f"/api/tasks/{first['id']}/complete", headers=auth()).status_code == 200
    assert drain(client) == 2
    items = client.get("/api/tasks", headers=auth()).json()["items"]
    assert [(t["id"], t["status"]) for t in items] == [(first["id"], "done")]
    assert "task.recurred" not in [e.type for e in outbox(client)]
    completed = next(e.event_id for e in outbox(client) if e.type == "task.completed")
    with client.app.state.db.read() as session:
        processed = session.scalars(
            select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == "recurrence")
        ).all()
    assert completed in processed
    audit = client.get("/api/audit", headers=auth()).json()["items"]  # other consumers unharmed
    assert {"task.created", "task.completed"} <= {e["type"] for e in audit}


def test_skew_recurrence_puts_the_next_occurrence_a_day_late(faulty, auth) -> None:
    client = faulty("skew_recurrence=1")
    body = task_body(recurrence="FREQ=DAILY", due_at="2028-01-01T09:00:00Z")
    first = client.post("/api/tasks", json=body, headers=auth()).json()
    assert client.post(f"/api/tasks/{first['id']}/complete", headers=auth()).status_code == 200
    drain(client)
    items = client.get("/api/tasks", params={"status": "open"}, headers=auth()).json()["items"]
    assert [t["due_at"] for t in items] == ["2028-01-03T09:00:00Z"]  # the rule says the 2nd


@pytest.mark.parametrize(("spec", "dead_letters"), [("", 1), ("silent_poison=1", 0)])
def test_silent_poison_swallows_what_would_be_dead_lettered(
    settings: Settings, spec: str, dead_letters: int
) -> None:
    db = Database(settings.database_url)
    try:
        event = CloudEvent(
            specversion="1.0",
            id="poison-1",
            source="/t",
            type="task.completed",
            subject="tasks/0",
            time=datetime.now(UTC),
            sequence="1",
            userid="u",
            actor="u",
            data={"task": "none"},
        )
        recurrence = with_faults(build_consumers(), Failpoints.parse(spec))[0]
        outcome = deliver(db, recurrence, event, TASK_EVENTS, datetime.now(UTC))
        assert outcome is (Outcome.DROP if dead_letters else Outcome.SUCCESS)
        with db.read() as session:
            assert session.scalar(select(func.count()).select_from(DeadLetter)) == dead_letters
    finally:
        db.dispose()


async def _live_events(app: FastAPI, user: str) -> list[str]:
    """Subscribe to the app's event stream, hand out what was committed, return the subjects."""
    stream = app.state.runtime.stream
    subscriber = stream.subscribe(user)
    try:
        await asyncio.to_thread(stream.poll_once)  # the tail's own thread, as in a worker
        handed_out = asyncio.Event()  # the hand-outs run on this loop, in the order queued:
        asyncio.get_running_loop().call_soon_threadsafe(handed_out.set)  # this one runs last
        await asyncio.wait_for(handed_out.wait(), timeout=10)
        got = []
        while not subscriber.queue.empty():
            event = subscriber.queue.get_nowait()
            assert event is not None
            got.append(event.subject)
        return got
    finally:
        stream.unsubscribe(subscriber)


def _create(client: TestClient, auth: Callable[[], dict[str, str]], count: int) -> list[str]:
    client.app.state.runtime.stream.start_at_end()
    ids = [
        client.post("/api/tasks", json=task_body(title=f"t{i}"), headers=auth()).json()["id"]
        for i in range(count)
    ]
    return [f"tasks/{i}" for i in ids]


def test_drop_events_skips_that_share_of_live_events(faulty, client, auth) -> None:
    created = _create(client, auth, 3)
    assert asyncio.run(_live_events(client.app, "alice")) == created  # no failpoint: all
    dropping = faulty("drop_events=1")
    assert dropping.app.state.runtime.stream.failpoints.drop_events == 1
    _create(dropping, auth, 3)
    assert asyncio.run(_live_events(dropping.app, "alice")) == []
    some = faulty("drop_events=0.5", seed=2)
    created = _create(some, auth, 30)
    got = asyncio.run(_live_events(some.app, "alice"))
    assert 5 < len(got) < 25 and set(got) < set(created)
    assert got == [s for s in created if s in got]  # in order, only skipping
    assert some.app.state.runtime.stream.position == outbox(some)[-1].id


class _Request:
    """What the SSE route uses of a request."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def is_disconnected(self) -> bool:
        return False


async def _subscribed(stream: EventStream, user: str, reader: asyncio.Future[Any]) -> None:
    """Until the SSE route has subscribed ``user`` to the stream (or already answered)."""
    deadline = time.monotonic() + 10
    while not stream._subscribers.get(user) and not reader.done():
        assert time.monotonic() < deadline, f"{user} was not subscribed within 10 s"
        await asyncio.sleep(0.005)


async def _first_sse(app: FastAPI, last_event_id: int | None) -> tuple[float, datetime]:
    """Open the SSE route, hand out what was committed; the first event's age when sent."""
    request = _Request(app)
    claims = StreamClaims("alice", datetime.now(UTC) + timedelta(minutes=5))
    response = await event_stream(
        request, claims, app.state.db, app.state.settings, app.state.runtime.stream, last_event_id
    )
    events = response.body_iterator
    try:
        first = asyncio.ensure_future(anext(events))
        await _subscribed(app.state.runtime.stream, "alice", first)
        await asyncio.to_thread(app.state.runtime.stream.poll_once)
        sse = await asyncio.wait_for(first, timeout=10)
        sent = datetime.now(UTC)
        event_time = datetime.fromisoformat(json.loads(sse.data)["time"])
        return (sent - event_time).total_seconds(), event_time
    finally:
        await events.aclose()


SSE_DELAY = 3.0  # far above what a loaded machine adds to an unheld event (~1 s seen)


def test_sse_delay_holds_live_events_but_not_replay(faulty, client, auth) -> None:
    _create(client, auth, 1)
    age, _ = asyncio.run(_first_sse(client.app, None))
    assert age < SSE_DELAY  # no failpoint: not held
    delayed = faulty(f"sse_delay={SSE_DELAY}")
    _create(delayed, auth, 1)
    age, _ = asyncio.run(_first_sse(delayed.app, None))
    assert age >= SSE_DELAY  # held until the event is that old
    _create(delayed, auth, 1)  # a fresh event, replayed from the log after Last-Event-ID
    started = time.perf_counter()
    age, _ = asyncio.run(_first_sse(delayed.app, outbox(delayed)[-1].id - 1))
    assert time.perf_counter() - started < SSE_DELAY and age < SSE_DELAY


@pytest.mark.integration
@pytest.mark.slow
def test_a_served_process_takes_failpoints_from_the_environment(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    env = {"TASKORA_FAILPOINTS": "sse_delay=1.5", "TASKORA_FAILPOINTS_SEED": "1"}
    with running(url, tmp_path / "serve.log", workers=1, env=env) as server:
        stream_url = f"{server.base_url}/api/events/stream"
        metrics_url = f"{server.base_url}/metrics"
        with (
            httpx.Client(timeout=httpx.Timeout(5, read=15)) as http,
            connect_sse(http, "GET", stream_url, headers=server.headers("alice")) as source,
        ):
            wait_until(
                lambda: "taskora_sse_connections 1.0" in http.get(metrics_url).text,
                10,
                "the stream subscribed to the live events",
            )
            tasks_url = f"{server.base_url}/api/tasks"
            httpx.post(tasks_url, json=task_body(), headers=server.headers("alice"))
            event = next(source.iter_sse())
            received = datetime.now(UTC)
            assert event.event == "task.created"
            written = datetime.fromisoformat(json.loads(event.data)["time"])
            assert received - written >= timedelta(seconds=1.5)  # held until 1.5 s old
    assert "TASKORA_FAILPOINTS=sse_delay=1.5" in (tmp_path / "serve.log").read_text()


def test_only_the_fault_wrappers_and_the_factories_read_the_failpoints() -> None:
    package = Path(taskora.__file__).parent
    readers = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"\b(failpoints|Failpoints)\b", path.read_text(encoding="utf-8"))
    }
    wrappers = {"api/faults.py", "events/faults.py", "domain/faults.py"}
    factories = {"app.py", "runtime.py"}  # they plant the wrappers, only when a fault is set
    assert readers <= wrappers | factories | {"failpoints.py", "settings.py"}
