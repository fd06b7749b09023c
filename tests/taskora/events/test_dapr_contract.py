"""Dapr, tested against its contract (no sidecar runs here).

Deliveries are shaped as the sidecar sends them over HTTP to the app (structured CloudEvent,
Dapr's own attributes added). Publishing goes through the Dapr SDK's gRPC client to a fake
sidecar built from the SDK's own generated servicer (``tests/dapr_sidecar.py``), which records
each request as the sidecar would receive it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from fastapi.testclient import TestClient

from taskora.api.deps import get_consumers
from taskora.app import create_app
from taskora.errors import ConfigurationError
from taskora.events.bus import BrokerUnavailable
from taskora.events.dapr import DaprBus
from taskora.events.delivery import Consumer
from taskora.events.envelope import TASK_EVENTS, to_cloudevent
from taskora.events.relay import Relay
from tests.conftest import outbox
from tests.dapr_sidecar import Failure, FakeSidecar, fake_sidecar
from tests.factories import task_body
from tests.poison import GOOD, POISON_RULES, assert_line_flowed, write_around_poison

SIDECAR_HEADERS = {"Content-Type": "application/cloudevents+json", "traceparent": "00-1-2-01"}


APP_TOKEN = "sidecar-token"


@pytest.fixture
def dapr_client(settings) -> Iterator[TestClient]:
    """The app on the Dapr bus, called as its sidecar calls it (with the app token)."""
    dapr = settings.model_copy(update={"bus": "dapr", "app_api_token": APP_TOKEN})
    with TestClient(create_app(dapr), headers={"dapr-api-token": APP_TOKEN}) as test_client:
        yield test_client


def _as_delivered_by_the_sidecar(client: TestClient) -> dict:
    """The last outbox event as Dapr delivers it: our envelope plus Dapr's attributes."""
    event = to_cloudevent(outbox(client)[-1]).model_dump(mode="json")
    event.update(
        topic="task-events",
        pubsubname="pubsub",
        traceid="00-113ad9c4e42b27583ae98ba698d54255-e3743e35ff56f219-01",
        traceparent="00-113ad9c4e42b27583ae98ba698d54255-e3743e35ff56f219-01",
        tracestate="",
    )
    return event


def _deliver(client: TestClient, body: object, topic: str = "task-events"):
    return client.post(f"/dapr/events/{topic}", content=json.dumps(body), headers=SIDECAR_HEADERS)


def test_contract_subscribe_lists_topics_routes_and_dead_letter_topics(dapr_client) -> None:
    assert dapr_client.get("/dapr/subscribe").json() == [
        {
            "pubsubname": "pubsub",
            "topic": "task-events",
            "routes": {"default": "/dapr/events/task-events"},
            "deadLetterTopic": "task-events-dlq",
        },
        {
            "pubsubname": "pubsub",
            "topic": "reminder-events",
            "routes": {"default": "/dapr/events/reminder-events"},
            "deadLetterTopic": "reminder-events-dlq",
        },
    ]


def test_contract_no_subscriptions_without_the_dapr_bus(client) -> None:
    assert client.get("/dapr/subscribe").json() == []
    assert _deliver(client, {}).status_code == 404


def test_contract_delivery_answers_success_and_applies_once(dapr_client, auth) -> None:
    dapr_client.post("/api/tasks", json=task_body(), headers=auth())
    event = _as_delivered_by_the_sidecar(dapr_client)
    first = _deliver(dapr_client, event)
    again = _deliver(dapr_client, event)  # Dapr redelivers: at-least-once
    assert (first.status_code, first.json()) == (200, {"status": "SUCCESS"})
    assert (again.status_code, again.json()) == (200, {"status": "SUCCESS"})
    audit = dapr_client.get("/api/audit", headers=auth()).json()["items"]
    assert [e["event_id"] for e in audit] == [event["id"]]


def test_contract_malformed_message_is_recorded_then_dropped(dapr_client) -> None:
    from sqlalchemy import select

    from taskora.models import DeadLetter

    response = _deliver(dapr_client, {"specversion": "1.0", "id": "x", "data": "not an event"})
    assert response.json() == {"status": "DROP"}
    with dapr_client.app.state.db.read() as session:
        letters = session.scalars(select(DeadLetter)).all()
    assert [(d.consumer, d.topic) for d in letters] == [("dapr", "task-events-dlq")]
    assert '"not an event"' in letters[0].payload


def test_contract_a_poison_event_is_dead_lettered_and_the_rest_flow_on(dapr_client, auth) -> None:
    """The sidecar delivers each event on its own. The poison one is dead-lettered by the
    consumer it defeats and applied by the others, so the answer is SUCCESS (a DROP would send
    it to the dead-letter topic unapplied); the sidecar is never asked to retry it."""
    poison = write_around_poison(dapr_client, auth, POISON_RULES[0])
    answers = []
    for row in outbox(dapr_client):
        event = to_cloudevent(row).model_dump(mode="json")
        answers.append(_deliver(dapr_client, {**event, "pubsubname": "pubsub"}).json())
    assert answers == [{"status": "SUCCESS"}] * (GOOD + 1)
    assert_line_flowed(dapr_client, auth, poison)


def test_contract_transient_failure_answers_retry(dapr_client, auth) -> None:
    calls: list[str] = []

    def failing(session, event, now) -> None:
        calls.append(event.type)
        raise ConnectionError("database went away")

    dapr_client.app.dependency_overrides[get_consumers] = lambda: (
        Consumer("audit", frozenset({TASK_EVENTS}), failing),
    )
    dapr_client.post("/api/tasks", json=task_body(), headers=auth())
    response = _deliver(dapr_client, _as_delivered_by_the_sidecar(dapr_client))
    assert (response.status_code, response.json()) == (200, {"status": "RETRY"})
    assert calls == ["task.created"]  # the consumer ran and failed: not a broken route


def test_contract_cron_binding_probe_and_call(dapr_client, auth) -> None:
    assert dapr_client.options("/cron/reminder-check").status_code == 200
    assert dapr_client.options("/cron/unknown").status_code == 404
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    dapr_client.post("/api/tasks", json=task_body(remind_at=past), headers=auth())
    assert dapr_client.post("/cron/reminder-check").json() == {"job": "reminder-check", "done": 1}
    assert dapr_client.post("/cron/reminder-check").json()["done"] == 0
    assert dapr_client.post("/cron/housekeeping").status_code == 200
    assert dapr_client.post("/cron/nope").status_code == 404


@pytest.mark.parametrize("token", [None, "", "sidecar-tokem", "sidecar-token-and-more"])
def test_contract_internal_routes_refuse_a_missing_or_wrong_app_token(dapr_client, auth, token):
    """A forged event (Alice's notification, her audit trail) or cron call is refused."""
    dapr_client.post("/api/tasks", json=task_body(), headers=auth())
    forged = _as_delivered_by_the_sidecar(dapr_client)
    headers = {**SIDECAR_HEADERS, "dapr-api-token": token}
    if token is None:
        del dapr_client.headers["dapr-api-token"]
        del headers["dapr-api-token"]
    calls = [
        dapr_client.post("/dapr/events/task-events", content=json.dumps(forged), headers=headers),
        dapr_client.post("/cron/reminder-check", headers=headers),
        dapr_client.get("/dapr/subscribe", headers=headers),
    ]
    assert [c.status_code for c in calls] == [401] * 3
    assert dapr_client.get("/api/audit", headers=auth()).json()["items"] == []


def test_contract_on_the_dapr_bus_internal_routes_need_a_configured_token(settings) -> None:
    """No APP_API_TOKEN set: nothing the sidecar would call answers, whatever a caller sends."""
    open_dapr = settings.model_copy(update={"bus": "dapr"})
    with TestClient(create_app(open_dapr)) as client:
        for token in (None, "anything"):
            headers = {"dapr-api-token": token} if token else {}
            response = client.post("/cron/reminder-check", headers=headers)
            assert response.status_code == 401 and "APP_API_TOKEN" in response.json()["detail"]
    with TestClient(create_app(settings)) as local:  # the local stack, no Dapr: in-process only
        assert local.post("/cron/reminder-check").status_code == 200


@pytest.mark.parametrize(
    "update",
    [
        {"bus": "dapr", "role": "consumers"},
        {"role": "scheduler", "ticker_seconds": 0},
        {"bus": "dapr"},
    ],
)
def test_production_refuses_to_start_when_the_sidecar_calls_it_without_a_token(
    settings, update
) -> None:
    production = settings.model_copy(update={"env": "production", "jwt_secret": "x" * 32, **update})
    with pytest.raises(ConfigurationError, match="without APP_API_TOKEN"):
        create_app(production)
    create_app(production.model_copy(update={"app_api_token": APP_TOKEN}))
    create_app(settings.model_copy(update={"env": "production", "jwt_secret": "x" * 32}))


@pytest.fixture
def sidecar(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSidecar]:
    with fake_sidecar(monkeypatch) as running:
        yield running


@pytest.fixture
def dapr_bus(sidecar: FakeSidecar) -> Iterator[DaprBus]:
    bus = DaprBus(grpc_port=sidecar.grpc_port, pubsub="pubsub")
    yield bus
    bus.close()


def _published(requests) -> list[dict]:
    return [json.loads(request.data) for request in requests]


def test_contract_publish_request_is_what_the_sidecar_expects(client, auth, sidecar, dapr_bus):
    client.post("/api/tasks", json=task_body(), headers=auth("alice"))
    event = to_cloudevent(outbox(client)[-1])
    dapr_bus.publish(event, "task-events")
    [request] = sidecar.accepted
    assert (request.pubsub_name, request.topic) == ("pubsub", "task-events")
    assert request.data_content_type == "application/cloudevents+json"
    # partitionKey: one user's events share a Kafka partition; no rawPayload (Dapr keeps the
    # CloudEvent handling and takes our envelope as it is)
    assert dict(request.metadata) == {"partitionKey": "alice"}
    sent = json.loads(request.data)
    assert sent["id"] == event.id and sent["specversion"] == "1.0"  # our envelope passes through
    assert sent["type"] == "task.created" and sent["sequence"] == event.sequence
    assert sent == event.model_dump(mode="json")


def test_contract_relay_publishes_a_batch_one_event_at_a_time_in_order(
    client, auth, sidecar, dapr_bus
) -> None:
    """Bulk publish keeps no order: a relay batch goes out as single PublishEvent calls, each
    with its own user's partition key, in the outbox's order, across both topics."""
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    for user in ("alice", "bob", "alice"):
        client.post("/api/tasks", json=task_body(remind_at=past), headers=auth(user))
    client.post("/cron/reminder-check")  # reminder.due on reminder-events, between the others
    client.post("/api/tasks", json=task_body(), headers=auth("bob"))
    relay = Relay(client.app.state.db, dapr_bus, holder="dapr-test")
    rows = outbox(client)
    assert relay.run_once() == len(rows) == 7
    assert sidecar.bulk == []
    assert [(r.topic, r.metadata["partitionKey"]) for r in sidecar.accepted] == [
        (row.topic, row.user_id) for row in rows
    ]
    assert {r.topic for r in sidecar.accepted} == {"task-events", "reminder-events"}
    assert [e["id"] for e in _published(sidecar.accepted)] == [row.event_id for row in rows]


def test_the_fake_sidecar_records_a_bulk_publish(sidecar, dapr_bus) -> None:
    """What makes ``sidecar.bulk == []`` above mean something: a bulk publish is recorded."""
    dapr_bus._connected().publish_events(
        pubsub_name="pubsub",
        topic_name="task-events",
        data=["{}", "{}"],
        data_content_type="application/cloudevents+json",
    )
    [request] = sidecar.bulk
    assert (request.topic, len(request.entries)) == ("task-events", 2)


def test_contract_relay_holds_events_while_the_sidecar_fails(client, auth, sidecar, dapr_bus):
    """An error from the sidecar is BrokerUnavailable: the relay stops at that event, keeps it
    and those behind it, and publishes them in order once the sidecar takes events again;
    every event the sidecar acknowledged is marked dispatched, and none is lost."""
    db = client.app.state.db
    relay = Relay(db, dapr_bus, holder="dapr-test")
    for _ in range(3):
        client.post("/api/tasks", json=task_body(), headers=auth())
    sidecar.failure = Failure(grpc.StatusCode.UNAVAILABLE, "kafka: client has run out of brokers")
    assert relay.run_once() == 0
    assert all(row.dispatched_at is None for row in outbox(client))
    assert len(sidecar.attempts) == 1  # no retries of the SDK's own: the relay decides

    sidecar.failure = Failure(grpc.StatusCode.INTERNAL, "broker hiccup", times=1, after=1)
    client.post("/api/tasks", json=task_body(), headers=auth())
    assert relay.run_once() == 1
    rows = outbox(client)
    assert [row.dispatched_at is not None for row in rows] == [True, False, False, False]
    assert relay.run_once() == 3
    rows = outbox(client)
    assert all(row.dispatched_at is not None for row in rows)
    assert [e["id"] for e in _published(sidecar.accepted)] == [row.event_id for row in rows]


def test_contract_unreachable_sidecar_is_broker_unavailable(client, auth, sidecar) -> None:
    """The sidecar is ready but its gRPC port does not answer: UNAVAILABLE, the relay's retry."""
    client.post("/api/tasks", json=task_body(), headers=auth())
    bus = DaprBus(grpc_port=_closed_port(), pubsub="pubsub")
    try:
        with pytest.raises(BrokerUnavailable, match="UNAVAILABLE"):
            bus.publish(to_cloudevent(outbox(client)[-1]), "task-events")
    finally:
        bus.close()


def test_contract_a_sidecar_that_does_not_answer_in_time_is_broker_unavailable(
    client, auth, sidecar
) -> None:
    """The deadline is ours (the SDK sets none): a sidecar that holds the call is the relay's
    retry, after the bus's timeout, not a relay stuck for as long as the sidecar takes."""
    client.post("/api/tasks", json=task_body(), headers=auth())
    bus = DaprBus(grpc_port=sidecar.grpc_port, pubsub="pubsub", timeout=0.2)
    sidecar.holding = True
    try:
        with pytest.raises(BrokerUnavailable, match="DEADLINE_EXCEEDED"):
            bus.publish(to_cloudevent(outbox(client)[-1]), "task-events")
    finally:
        sidecar.released.set()
        bus.close()
    # the sidecar may still take the held event: the relay's retry makes a duplicate, which
    # the consumers' idempotency records absorb (at-least-once)
    assert len(sidecar.attempts) == 1


def test_a_closed_bus_publishes_nothing_and_connects_no_more(client, auth, sidecar, dapr_bus):
    client.post("/api/tasks", json=task_body(), headers=auth())
    event = to_cloudevent(outbox(client)[-1])
    dapr_bus.publish(event, "task-events")
    dapr_bus.close()
    with pytest.raises(BrokerUnavailable, match="closed"):
        dapr_bus.publish(event, "task-events")
    assert len(sidecar.attempts) == 1


def test_contract_a_sidecar_never_ready_is_broker_unavailable(client, auth, monkeypatch):
    """The SDK's client waits for the sidecar's health endpoint when it is built: a sidecar
    that never answers is BrokerUnavailable (built again on the relay's next attempt)."""
    client.post("/api/tasks", json=task_body(), headers=auth())
    monkeypatch.setenv("DAPR_HTTP_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("DAPR_HEALTH_TIMEOUT", "0")
    bus = DaprBus(grpc_port=_closed_port(), pubsub="pubsub")
    with pytest.raises(BrokerUnavailable, match="TimeoutError"):
        bus.publish(to_cloudevent(outbox(client)[-1]), "task-events")
    assert bus._client is None
    bus.close()


def _closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
