"""The Redis Streams bus, against a real Redis server (``TASKORA_TEST_REDIS_URL``).

Each test uses stream keys under a prefix of its own and deletes them afterwards, so the
server may be shared. The consumer threads run only inside ``consuming(bus)``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from taskora.domain.consumers import build_consumers
from taskora.events.bus import BrokerUnavailable
from taskora.events.delivery import Consumer
from taskora.events.envelope import TASK_EVENTS, to_cloudevent
from taskora.events.redis_bus import RedisBus
from taskora.events.relay import Relay
from taskora.models import AuditEntry, DeadLetter, ProcessedEvent
from tests.conftest import outbox
from tests.factories import task_body
from tests.poison import GOOD, POISON_RULES, assert_line_flowed, write_around_poison

pytestmark = pytest.mark.redis

AUDIT = next(c for c in build_consumers() if c.name == "audit")
FAST = {"block_ms": 100, "reclaim_idle_ms": 200, "reclaim_every": 0.1}


@pytest.fixture
def server(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the test server; the test's keys are deleted afterwards."""
    with redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5) as r:
        yield r


@pytest.fixture
def make_bus(client, redis_url: str, server: redis.Redis) -> Iterator[Callable[..., RedisBus]]:
    prefix = f"taskora-test-{uuid.uuid4().hex[:12]}"
    buses: list[RedisBus] = []

    def make(consumers: Any = None, **options: Any) -> RedisBus:
        bus = RedisBus(
            client.app.state.db,
            build_consumers() if consumers is None else consumers,
            url=redis_url,
            holder=f"test-{uuid.uuid4().hex[:8]}",
            prefix=prefix,
            **options,
        )
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.close()
    keys = list(server.scan_iter(match=f"{prefix}:*"))
    if keys:
        server.delete(*keys)


@contextmanager
def consuming(bus: RedisBus) -> Iterator[None]:
    stop = threading.Event()
    threads = bus.start(stop)
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        assert not any(thread.is_alive() for thread in threads), "a consumer did not stop"


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def relay_all(client, bus: RedisBus) -> int:
    relay = Relay(client.app.state.db, bus, holder="redis-test")
    total = 0
    while moved := relay.run_once():
        total += moved
    return total


def count(client, model, *where) -> int:
    with client.app.state.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)))


def audit_ids(client, auth) -> list[str]:
    items = client.get("/api/audit", params={"limit": 200}, headers=auth()).json()["items"]
    return [item["event_id"] for item in items]


def settled(server: redis.Redis, stream: str, group: str, last_id: str) -> bool:
    """The group has read up to last_id and acknowledged everything."""
    info = next((g for g in server.xinfo_groups(stream) if g["name"] == group), None)
    return info is not None and info["last-delivered-id"] == last_id and info["pending"] == 0


def consumer_names(server: redis.Redis, stream: str, group: str) -> set[str]:
    return {c["name"] for c in server.xinfo_consumers(stream, group)}


def test_published_events_reach_every_consumer_exactly_once(client, auth, make_bus, server):
    bus = make_bus(**FAST)
    for _ in range(3):
        task = client.post("/api/tasks", json=task_body(), headers=auth()).json()
    client.post(f"/api/tasks/{task['id']}/complete", headers=auth())
    assert relay_all(client, bus) == 4  # published before any group exists
    events = [row.event_id for row in outbox(client)]
    assert all(row.dispatched_at is not None for row in outbox(client))
    stream = bus.key(TASK_EVENTS)
    assert server.xlen(stream) == 4
    last_id = server.xrevrange(stream, count=1)[0][0]
    with consuming(bus):
        wait_for(lambda: all(settled(server, stream, g, last_id) for g in ("audit", "recurrence")))
    assert sorted(audit_ids(client, auth)) == sorted(events)
    assert count(client, ProcessedEvent, ProcessedEvent.consumer == "audit") == 4
    # The recurrence consumer acts on task.completed only: the creates pass it unrecorded
    assert count(client, ProcessedEvent, ProcessedEvent.consumer == "recurrence") == 1


def test_a_dead_consumers_pending_message_is_reclaimed_and_applied_once(
    client, auth, make_bus, server
):
    bus = make_bus([AUDIT], **FAST)
    client.post("/api/tasks", json=task_body(), headers=auth())
    assert relay_all(client, bus) == 1
    stream = bus.key(TASK_EVENTS)
    server.xgroup_create(stream, "audit", id="0")
    taken = server.xreadgroup("audit", "dead-worker", {stream: ">"}, count=10)
    assert len(taken[0][1]) == 1  # read, never acknowledged: its process died
    message_id = taken[0][1][0][0]
    with consuming(bus):
        wait_for(lambda: settled(server, stream, "audit", message_id))
    assert audit_ids(client, auth) == [outbox(client)[0].event_id]
    consumers = {c["name"]: c["pending"] for c in server.xinfo_consumers(stream, "audit")}
    assert consumers["dead-worker"] == 0 and consumers[bus.holder] == 0


def test_what_a_consumer_was_given_and_did_not_acknowledge_is_handled_first(
    client, auth, make_bus, server
):
    """A batch cut short by a broker outage stays pending for this holder: it is handled when
    the consumer (re)starts, not half a minute later by the reclaim of idle messages."""
    bus = make_bus([AUDIT], block_ms=100, reclaim_idle_ms=600_000, reclaim_every=0.1)
    for _ in range(3):
        client.post("/api/tasks", json=task_body(), headers=auth())
    assert relay_all(client, bus) == 3
    stream = bus.key(TASK_EVENTS)
    server.xgroup_create(stream, "audit", id="0")
    taken = server.xreadgroup("audit", bus.holder, {stream: ">"}, count=10)
    assert len(taken[0][1]) == 3  # given to this holder; the broker went away before the acks
    last_id = taken[0][1][-1][0]
    with consuming(bus):
        wait_for(lambda: settled(server, stream, "audit", last_id))
    assert sorted(audit_ids(client, auth)) == sorted(row.event_id for row in outbox(client))


def test_a_killed_consumers_messages_are_taken_over_long_before_the_idle_reclaim(
    client, auth, make_bus, server
):
    """A killed worker's consumer never reads again (its replacement reads under a new name):
    its pending messages are handled once it has been silent for dead_after_ms, and it leaves
    the group."""
    bus = make_bus(
        [AUDIT], block_ms=100, reclaim_idle_ms=600_000, reclaim_every=0.1, dead_after_ms=300
    )
    for _ in range(3):
        client.post("/api/tasks", json=task_body(), headers=auth())
    assert relay_all(client, bus) == 3
    stream = bus.key(TASK_EVENTS)
    server.xgroup_create(stream, "audit", id="0")
    taken = server.xreadgroup("audit", "killed-worker", {stream: ">"}, count=10)
    assert len(taken[0][1]) == 3  # given to a worker that was killed before acknowledging
    last_id = taken[0][1][-1][0]
    with consuming(bus):
        wait_for(lambda: settled(server, stream, "audit", last_id))
        wait_for(lambda: "killed-worker" not in consumer_names(server, stream, "audit"))
        assert bus.holder in consumer_names(server, stream, "audit")  # a reader is never idle
    assert sorted(audit_ids(client, auth)) == sorted(row.event_id for row in outbox(client))


def test_a_message_the_database_could_not_take_is_retried_at_once(client, auth, make_bus, server):
    """The database failing under a delivery (unreachable, out of connections) is not the
    event's fault: the message, still pending for this consumer, is read again a second later,
    not half a minute later by the reclaim of idle messages."""
    down = {"left": 2}

    def store_blips(session, event, now) -> None:
        if down["left"]:
            down["left"] -= 1
            raise OperationalError("INSERT", {}, Exception("too many clients already"))
        AUDIT.handle(session, event, now)

    audit = Consumer("audit", AUDIT.topics, store_blips)
    bus = make_bus([audit], block_ms=100, reclaim_idle_ms=600_000, reclaim_every=0.1)
    client.post("/api/tasks", json=task_body(), headers=auth())
    assert relay_all(client, bus) == 1
    stream = bus.key(TASK_EVENTS)
    last_id = server.xrevrange(stream, count=1)[0][0]
    with consuming(bus):
        wait_for(lambda: settled(server, stream, "audit", last_id), timeout=10)
    assert down["left"] == 0
    assert audit_ids(client, auth) == [outbox(client)[0].event_id]


def test_a_failing_consumer_is_retried_then_dead_lettered(client, auth, make_bus, server):
    calls: list[str] = []

    def failing(session, event, now) -> None:
        calls.append(event.id)
        raise RuntimeError("downstream is down")

    flaky = Consumer("flaky", frozenset({TASK_EVENTS}), failing)
    bus = make_bus([flaky], max_deliveries=3, **{**FAST, "reclaim_idle_ms": 100})
    client.post("/api/tasks", json=task_body(), headers=auth())
    relay_all(client, bus)
    event_id = outbox(client)[0].event_id
    stream, dlq = bus.key(TASK_EVENTS), bus.key(f"{TASK_EVENTS}-dlq")
    last_id = server.xrevrange(stream, count=1)[0][0]
    with consuming(bus):
        wait_for(lambda: server.exists(dlq) and settled(server, stream, "flaky", last_id))
    assert calls == [event_id] * 3
    assert (
        count(client, DeadLetter, DeadLetter.consumer == "flaky", DeadLetter.event_id == event_id)
        == 1
    )
    with client.app.state.db.read() as session:
        assert session.scalars(select(DeadLetter.topic)).all() == ["task-events-dlq"]
    [(_, fields)] = server.xrange(dlq)
    assert fields["consumer"] == "flaky" and fields["id"] == last_id
    assert to_cloudevent(outbox(client)[0]).model_dump_json() == fields["event"]
    assert count(client, ProcessedEvent) == 0


def test_a_malformed_message_is_recorded_and_acknowledged(client, make_bus, server):
    bus = make_bus([AUDIT], **FAST)
    stream = bus.key(TASK_EVENTS)
    message_id = server.xadd(stream, {"event": "{not json"})
    with consuming(bus):
        wait_for(lambda: settled(server, stream, "audit", message_id))
    with client.app.state.db.read() as session:
        [letter] = session.scalars(select(DeadLetter)).all()
    assert letter.consumer == "audit" and letter.event_id is None
    assert letter.payload == "{not json" and message_id in letter.reason
    [(_, fields)] = server.xrange(bus.key(f"{TASK_EVENTS}-dlq"))
    assert fields == {"event": "{not json", "consumer": "audit", "id": message_id}


def test_publish_to_an_unreachable_broker_fails_fast_and_the_outbox_keeps_the_event(client, auth):
    bus = RedisBus(client.app.state.db, build_consumers(), url="redis://127.0.0.1:1/0", holder="t")
    client.post("/api/tasks", json=task_body(), headers=auth())
    event = to_cloudevent(outbox(client)[0])
    began = time.monotonic()
    with pytest.raises(BrokerUnavailable):
        bus.publish(event, TASK_EVENTS)
    assert time.monotonic() - began < 5
    assert Relay(client.app.state.db, bus, holder="t").run_once() == 0
    assert outbox(client)[0].dispatched_at is None
    bus.close()


def test_a_redelivered_event_has_one_effect(client, auth, make_bus, server):
    bus = make_bus(**FAST)
    client.post("/api/tasks", json=task_body(), headers=auth())
    event = to_cloudevent(outbox(client)[0])
    bus.publish(event, TASK_EVENTS)
    bus.publish(event, TASK_EVENTS)  # a relay that crashed before marking it dispatched
    stream = bus.key(TASK_EVENTS)
    assert server.xlen(stream) == 2
    last_id = server.xrevrange(stream, count=1)[0][0]
    with consuming(bus):
        wait_for(lambda: settled(server, stream, "audit", last_id))
    assert audit_ids(client, auth) == [event.id]
    assert count(client, AuditEntry) == 1
    assert count(client, ProcessedEvent, ProcessedEvent.consumer == "audit") == 1


def test_consumers_recreate_their_groups_when_the_server_lost_them(client, auth, make_bus, server):
    bus = make_bus([AUDIT], **FAST)
    stream = bus.key(TASK_EVENTS)
    with consuming(bus):
        client.post("/api/tasks", json=task_body(), headers=auth())
        relay_all(client, bus)
        wait_for(lambda: len(audit_ids(client, auth)) == 1)
        server.delete(stream)  # a restart without persistence
        client.post("/api/tasks", json=task_body(), headers=auth())
        relay_all(client, bus)
        wait_for(lambda: len(audit_ids(client, auth)) == 2)
    assert sorted(audit_ids(client, auth)) == sorted(row.event_id for row in outbox(client))


def test_a_poison_event_is_dead_lettered_and_the_rest_flow_on(client, auth, make_bus, server):
    bus = make_bus(**FAST)
    poison = write_around_poison(client, auth, POISON_RULES[1])
    assert relay_all(client, bus) == GOOD + 1
    stream = bus.key(TASK_EVENTS)
    last_id = server.xrevrange(stream, count=1)[0][0]
    with consuming(bus):
        wait_for(lambda: all(settled(server, stream, g, last_id) for g in ("audit", "recurrence")))
    assert_line_flowed(client, auth, poison)
    [(_, fields)] = server.xrange(bus.key(f"{TASK_EVENTS}-dlq"))
    assert fields["consumer"] == "recurrence" and poison in fields["event"]


def test_new_messages_of_one_read_are_applied_in_one_transaction(
    client, auth, make_bus, server, monkeypatch
):
    db = client.app.state.db
    for _ in range(5):
        client.post("/api/tasks", json=task_body(), headers=auth())
    bus = make_bus([AUDIT], **FAST)
    assert relay_all(client, bus) == 5  # all waiting before the consumer's first read
    writes = []
    write = db.write

    def counted_write():
        writes.append(threading.current_thread().name)
        return write()

    monkeypatch.setattr(db, "write", counted_write)
    stream = bus.key(TASK_EVENTS)
    last_id = server.xrevrange(stream, count=1)[0][0]
    with consuming(bus):
        wait_for(lambda: settled(server, stream, "audit", last_id))
    assert sorted(audit_ids(client, auth)) == sorted(row.event_id for row in outbox(client))
    assert len(writes) == 1  # five events, one transaction, one acknowledgement


def test_a_malformed_message_among_good_ones_leaves_the_good_ones_applied(
    client, auth, make_bus, server
):
    for _ in range(2):
        client.post("/api/tasks", json=task_body(), headers=auth())
    bus = make_bus([AUDIT], **FAST)
    assert relay_all(client, bus) == 2
    stream = bus.key(TASK_EVENTS)
    bad = server.xadd(stream, {"event": "{not json"})
    client.post("/api/tasks", json=task_body(), headers=auth())
    assert relay_all(client, bus) == 1
    last_id = server.xrevrange(stream, count=1)[0][0]
    with consuming(bus):
        wait_for(lambda: settled(server, stream, "audit", last_id))
    assert sorted(audit_ids(client, auth)) == sorted(row.event_id for row in outbox(client))
    with client.app.state.db.read() as session:
        [letter] = session.scalars(select(DeadLetter)).all()
    assert bad in letter.reason
