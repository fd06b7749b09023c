"""The relay delivers each event to every consumer exactly once in effect."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from taskora.db import utcnow
from taskora.domain.consumers import build_consumers
from taskora.domain.faults import with_faults
from taskora.events import lease
from taskora.events.bus import InlineBus
from taskora.events.delivery import Consumer, Outcome, PoisonEvent, deliver
from taskora.events.envelope import TASK_EVENTS, to_cloudevent
from taskora.events.lease import acquire
from taskora.events.relay import Relay
from taskora.failpoints import Failpoints
from taskora.models import AuditEntry, DeadLetter, Lease, ProcessedEvent, Task
from tests.conftest import drain, outbox
from tests.factories import task_body


def _count(client, model, *where) -> int:
    with client.app.state.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)))


def test_relay_dispatches_in_order_and_audit_sees_every_event(client, auth) -> None:
    task = client.post("/api/tasks", json=task_body(), headers=auth()).json()
    client.post(f"/api/tasks/{task['id']}/complete", headers=auth())
    assert drain(client) == 2
    assert all(row.dispatched_at is not None for row in outbox(client))
    entries = client.get("/api/audit", headers=auth()).json()["items"]
    assert [e["type"] for e in entries] == ["task.completed", "task.created"]
    assert entries[0]["before"] == {"status": "open"} and entries[0]["after"] == {"status": "done"}
    assert drain(client) == 0


def test_one_batch_audits_each_event_once_with_its_change(client, auth) -> None:
    ids = [client.post("/api/tasks", json=task_body(), headers=auth()).json()["id"] for _ in "abc"]
    client.patch(f"/api/tasks/{ids[0]}", json={"title": "Renamed"}, headers=auth())
    client.post(f"/api/tasks/{ids[1]}/complete", headers=auth())
    client.delete(f"/api/tasks/{ids[2]}", headers=auth())
    assert drain(client) == 6  # one batch: the relay's batch holds 50
    entries = client.get("/api/audit", headers=auth()).json()["items"]
    assert sorted(e["event_id"] for e in entries) == sorted(row.event_id for row in outbox(client))
    by_type = {e["type"]: e for e in entries}
    assert by_type["task.updated"]["before"] == {"title": "Write the report"}
    assert by_type["task.updated"]["after"] == {"title": "Renamed"}
    assert by_type["task.completed"]["after"] == {"status": "done"}
    assert (
        by_type["task.deleted"]["before"]["id"] == ids[2]
        and by_type["task.deleted"]["after"] is None
    )
    assert [e["task_id"] for e in entries if e["type"] == "task.created"] == ids[::-1]


def test_a_planted_handler_fault_leaves_no_batch_handler_around_it() -> None:
    healthy = {c.name: c for c in build_consumers()}
    assert healthy["audit"].handle_batch is not None
    planted = with_faults(build_consumers(), Failpoints.parse("silent_poison=1"))
    assert [c.handle_batch for c in planted] == [None, None, None]


def test_redelivery_is_skipped(client, auth) -> None:
    client.post("/api/tasks", json=task_body(), headers=auth())
    db = client.app.state.db
    event = to_cloudevent(outbox(client)[0])
    audit = next(c for c in build_consumers() if c.name == "audit")
    assert deliver(db, audit, event, TASK_EVENTS, utcnow()) is Outcome.SUCCESS
    assert deliver(db, audit, event, TASK_EVENTS, utcnow()) is Outcome.SUCCESS
    assert _count(client, AuditEntry) == 1
    assert _count(client, ProcessedEvent, ProcessedEvent.consumer == "audit") == 1


def test_a_consumer_passes_the_types_it_does_not_act_on_without_a_record(client, auth) -> None:
    task = client.post("/api/tasks", json=task_body(), headers=auth()).json()
    client.post(f"/api/tasks/{task['id']}/complete", headers=auth())
    assert drain(client) == 2
    recorded = lambda name: _count(client, ProcessedEvent, ProcessedEvent.consumer == name)  # noqa: E731
    assert recorded("audit") == 2  # every task event
    assert recorded("recurrence") == 1  # task.completed only: the create passed unrecorded
    created = to_cloudevent(outbox(client)[0])
    recurrence = next(c for c in build_consumers() if c.name == "recurrence")
    assert created.type == "task.created"
    db = client.app.state.db
    assert deliver(db, recurrence, created, TASK_EVENTS, utcnow()) is Outcome.SUCCESS
    assert recorded("recurrence") == 1


def test_a_failing_consumer_is_retried_then_dead_lettered(client, auth) -> None:
    calls = []

    def flaky(session, event, now) -> None:
        calls.append(event.id)
        raise RuntimeError("downstream is down")

    db = client.app.state.db
    relay = Relay(
        db,
        InlineBus(db, [Consumer("flaky", frozenset({TASK_EVENTS}), flaky)]),
        holder="t",
        max_attempts=3,
    )
    client.post("/api/tasks", json=task_body(), headers=auth())
    assert [relay.run_once() for _ in range(3)] == [
        0,
        0,
        1,
    ]  # held twice, dead-lettered on the third
    assert set(calls) == {outbox(client)[0].event_id}  # only that event, on every run
    assert (
        _count(
            client,
            DeadLetter,
            DeadLetter.consumer == "flaky",
            DeadLetter.topic == "task-events-dlq",
        )
        == 1
    )
    assert _count(client, ProcessedEvent) == 0  # the failed effect was rolled back each time


def test_a_poison_event_is_recorded_then_dropped(client, auth) -> None:
    def strict(session, event, now) -> None:
        raise PoisonEvent("cannot apply")

    db = client.app.state.db
    client.post("/api/tasks", json=task_body(), headers=auth())
    event = to_cloudevent(outbox(client)[0])
    assert (
        deliver(
            db, Consumer("strict", frozenset({TASK_EVENTS}), strict), event, TASK_EVENTS, utcnow()
        )
        is Outcome.DROP
    )
    assert _count(client, DeadLetter, DeadLetter.event_id == event.id) == 1


def test_only_the_lease_holder_relays_and_an_expired_lease_is_taken_over(client, auth) -> None:
    db = client.app.state.db
    bus = InlineBus(db, build_consumers())
    first, second = (
        Relay(db, bus, holder=h, lease_ttl=timedelta(seconds=30), follower_retry=timedelta(0))
        for h in "ab"
    )
    client.post("/api/tasks", json=task_body(), headers=auth())
    assert first.run_once() == 1  # asked first: it leads
    client.post("/api/tasks", json=task_body(), headers=auth())
    assert second.run_once() == 0
    assert first.run_once() == 1
    with db.write() as session:
        session.get(Lease, "relay").expires_at = datetime(
            2000, 1, 1, tzinfo=UTC
        )  # a crashed leader
    client.post("/api/tasks", json=task_body(), headers=auth())
    assert second.run_once() == 1
    assert first.run_once() == 0


def test_a_follower_asks_for_the_lease_once_per_retry_interval(client, monkeypatch) -> None:
    db = client.app.state.db
    bus = InlineBus(db, build_consumers())
    leader, follower = (
        Relay(db, bus, holder=h, follower_retry=timedelta(minutes=5)) for h in ("a", "b")
    )
    assert leader.is_leader()
    asks: list[str] = []
    real_acquire = lease.acquire
    monkeypatch.setattr(
        lease, "acquire", lambda **kw: asks.append(kw["holder"]) or real_acquire(**kw)
    )
    assert [follower.run_once() for _ in range(5)] == [0] * 5
    assert asks == ["b"]  # one write transaction, not five


def test_exactly_one_of_many_concurrent_contenders_gets_the_lease(client) -> None:
    db = client.app.state.db
    barrier = threading.Barrier(8)

    def contend(holder: str) -> bool:
        barrier.wait()
        with db.write() as session:
            return acquire(
                session=session, name="race", holder=holder, now=utcnow(), ttl=timedelta(seconds=30)
            )

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(contend, [f"h{i}" for i in range(8)]))
    assert results.count(True) == 1


def test_completing_a_recurring_task_creates_the_next_occurrence_once(client, auth) -> None:
    body = task_body(
        recurrence="FREQ=MONTHLY;COUNT=3",
        due_at="2028-01-31T09:00:00+01:00",
        remind_at="2028-01-31T08:00:00+01:00",
        tags=["bills"],
    )
    first = client.post("/api/tasks", json=body, headers=auth()).json()
    client.post(f"/api/tasks/{first['id']}/complete", headers=auth())
    client.post(f"/api/tasks/{first['id']}/reopen", headers=auth())
    client.post(f"/api/tasks/{first['id']}/complete", headers=auth())  # a second completion
    drain(client)
    items = client.get("/api/tasks", params={"sort": "due_at"}, headers=auth()).json()["items"]
    assert [t["due_at"] for t in items] == ["2028-01-31T08:00:00Z", "2028-02-29T08:00:00Z"]
    second = items[1]
    assert second["series_id"] == first["id"] and second["tags"] == ["bills"]
    assert second["remind_at"] == "2028-02-29T07:00:00Z" and second["status"] == "open"
    assert [
        e["type"]
        for e in client.get("/api/audit", params={"type": "task.recurred"}, headers=auth()).json()[
            "items"
        ]
    ] == ["task.recurred"]


def test_the_series_ends_after_count_and_a_duplicate_occurrence_is_impossible(client, auth) -> None:
    body = task_body(recurrence="FREQ=DAILY;COUNT=2", due_at="2028-01-01T09:00:00Z")
    first = client.post("/api/tasks", json=body, headers=auth()).json()
    client.post(f"/api/tasks/{first['id']}/complete", headers=auth())
    drain(client)
    second = client.get("/api/tasks", params={"status": "open"}, headers=auth()).json()["items"][0]
    client.post(f"/api/tasks/{second['id']}/complete", headers=auth())
    drain(client)
    assert client.get("/api/tasks", params={"status": "open"}, headers=auth()).json()["items"] == []
    from taskora.domain.series import create_next_occurrence

    with client.app.state.db.write() as session:  # a replayed completion of the first
        assert create_next_occurrence(session=session, task_id=first["id"], now=utcnow()) is None
    assert _count(client, Task) == 2


def test_cancelled_recurrence_creates_no_next_occurrence(client, auth) -> None:
    body = task_body(recurrence="FREQ=WEEKLY", due_at="2028-01-03T09:00:00Z")
    task = client.post("/api/tasks", json=body, headers=auth()).json()
    cancelled = client.post(f"/api/tasks/{task['id']}/recurrence/cancel", headers=auth())
    assert cancelled.status_code == 200 and cancelled.json()["recurrence"] is None
    client.post(f"/api/tasks/{task['id']}/complete", headers=auth())
    drain(client)
    assert len(client.get("/api/tasks", headers=auth()).json()["items"]) == 1


@pytest.mark.parametrize("until", ["20280301", "20280301T000000"])
def test_until_must_be_utc_for_a_zoned_series(client, auth, until) -> None:
    body = task_body(recurrence=f"FREQ=DAILY;UNTIL={until}", due_at="2028-01-01T09:00:00+01:00")
    response = client.post("/api/tasks", json=body, headers=auth())
    assert response.status_code == 422
    assert "UNTIL" in response.json()["detail"][0]["msg"]


def test_a_database_outage_holds_events_without_counting_attempts(client, auth) -> None:
    from sqlalchemy.exc import OperationalError

    def unlucky(session, event, now) -> None:
        raise OperationalError("UPDATE ...", {}, Exception("database is locked"))

    db = client.app.state.db
    bus = InlineBus(db, [Consumer("unlucky", frozenset({TASK_EVENTS}), unlucky)])
    relay = Relay(db, bus, holder="t", max_attempts=2)
    client.post("/api/tasks", json=task_body(), headers=auth())
    assert [relay.run_once() for _ in range(5)] == [0] * 5
    row = outbox(client)[0]
    assert (row.dispatched_at, row.attempts) == (None, 0)
    assert _count(client, DeadLetter) == 0


def test_the_audit_trail_pages_newest_first_without_gaps_or_repeats(client, auth) -> None:
    for _ in range(5):
        client.post("/api/tasks", json=task_body(), headers=auth())
    assert drain(client) == 5
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/audit", params=params, headers=auth()).json()
        seen += [entry["id"] for entry in page["items"]]
        pages, cursor = pages + 1, page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 5
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 5
