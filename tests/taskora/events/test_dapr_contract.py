"""Dapr, tested against its documented HTTP contract (no sidecar runs here).

Deliveries are shaped as the sidecar sends them (structured CloudEvent, Dapr's own attributes
added); publishing goes to a stand-in HTTP server that checks what the sidecar would receive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
from tests.factories import task_body
from tests.poison import GOOD, POISON_RULES, assert_line_flowed, write_around_poison
from tests.servers import ServingThread

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
    ],  # fmt: skip
)
def test_production_refuses_to_start_when_the_sidecar_calls_it_without_a_token(
    settings, update
) -> None:
    production = settings.model_copy(update={"env": "production", "jwt_secret": "x" * 32, **update})
    with pytest.raises(ConfigurationError, match="without APP_API_TOKEN"):
        create_app(production)
    create_app(production.model_copy(update={"app_api_token": APP_TOKEN}))
    create_app(settings.model_copy(update={"env": "production", "jwt_secret": "x" * 32}))


class _Sidecar:
    """A stand-in for the sidecar's publish endpoint that records each request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 204
        sidecar = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sidecar.requests.append((self.path, dict(self.headers), body))
                self.send_response(sidecar.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.runner = ServingThread(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
        self.port = self.runner.server.server_address[1]
        self.runner.start()

    def close(self) -> None:
        self.runner.stop()


@pytest.fixture
def sidecar() -> Iterator[_Sidecar]:
    stand_in = _Sidecar()
    yield stand_in
    stand_in.close()


def test_contract_publish_request_is_what_the_sidecar_expects(client, auth, sidecar) -> None:
    client.post("/api/tasks", json=task_body(), headers=auth())
    event = to_cloudevent(outbox(client)[-1])
    bus = DaprBus(port=sidecar.port, pubsub="pubsub")
    bus.publish(event, "task-events")
    path, headers, body = sidecar.requests[0]
    assert path == "/v1.0/publish/pubsub/task-events"
    assert headers["Content-Type"] == "application/cloudevents+json"
    sent = json.loads(body)
    assert sent["id"] == event.id and sent["specversion"] == "1.0"  # our envelope passes through
    assert sent["type"] == "task.created" and sent["sequence"] == event.sequence


def test_contract_relay_holds_events_while_the_sidecar_fails(client, auth, sidecar) -> None:
    db = client.app.state.db
    relay = Relay(db, DaprBus(port=sidecar.port, pubsub="pubsub"), holder="dapr-test")
    for _ in range(3):
        client.post("/api/tasks", json=task_body(), headers=auth())
    sidecar.status = 500
    assert relay.run_once() == 0
    assert all(row.dispatched_at is None for row in outbox(client))
    sidecar.status = 204
    assert relay.run_once() == 3
    assert all(row.dispatched_at is not None for row in outbox(client))
    published = [json.loads(body)["id"] for _, _, body in sidecar.requests[1:]]
    assert published == [row.event_id for row in outbox(client)]  # in order


def test_contract_unreachable_sidecar_is_broker_unavailable(client, auth) -> None:
    client.post("/api/tasks", json=task_body(), headers=auth())
    with pytest.raises(BrokerUnavailable):
        DaprBus(port=1, pubsub="pubsub").publish(to_cloudevent(outbox(client)[-1]), "task-events")
