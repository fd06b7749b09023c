"""Dapr pub/sub through the Dapr Python SDK (Kafka/Redpanda or Redis behind the sidecar).

Publishing: ``DaprClient.publish_event`` over gRPC with ``data_content_type``
``application/cloudevents+json``, so the sidecar takes our envelope as the CloudEvent (its id,
type and sequence) instead of wrapping it, and only adds its own attributes (trace ids, topic,
pubsub name). ``rawPayload`` is not set: it would deliver the bytes without the CloudEvent
handling that routes them and takes our ``id``. The metadata ``partitionKey`` is the event's user,
so on Kafka one user's events share a partition and keep their order.

One call per event, never ``publish_events``: Dapr's bulk publish guarantees no order (for a
component without native bulk support the sidecar publishes the entries concurrently) and can
take part of a batch, and the relay's promise is "in order". Retries and time-outs are the
relay's: the client has a deadline per call and no retries of its own, and any error from the SDK
or the sidecar is ``BrokerUnavailable``, so the event waits in the outbox.

The client is built on the first publish, from the relay's thread: building it waits for the
sidecar (``taskora.sidecar``), and that wait holds up the relay, never the app's start. The SDK
(and gRPC) is imported only then: the subscriptions below are served by every role.

Subscribing: the sidecar reads ``GET /dapr/subscribe`` and delivers each event to its route
(``taskora.api.routes.dapr``); the answer is ``{"status": "SUCCESS" | "RETRY" | "DROP"}``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from taskora.events.bus import BrokerUnavailable
from taskora.events.envelope import TOPICS, CloudEvent, dead_letter_topic

if TYPE_CHECKING:
    from dapr.clients import DaprClient

__all__ = ["CONTENT_TYPE", "PARTITION_KEY", "DaprBus", "subscriptions", "topic_route"]

CONTENT_TYPE = "application/cloudevents+json"
PARTITION_KEY = "partitionKey"
PUBLISH_TIMEOUT = 2.0


def topic_route(topic: str) -> str:
    return f"/dapr/events/{topic}"


def subscriptions(pubsub: str) -> list[dict[str, object]]:
    """The programmatic subscriptions this app declares to its sidecar."""
    return [
        {
            "pubsubname": pubsub,
            "topic": topic,
            "routes": {"default": topic_route(topic)},
            "deadLetterTopic": dead_letter_topic(topic),
        }
        for topic in TOPICS
    ]


class DaprBus:
    name = "dapr"

    def __init__(self, *, grpc_port: int, pubsub: str, timeout: float = PUBLISH_TIMEOUT) -> None:
        self.grpc_port = grpc_port
        self.pubsub = pubsub
        self.timeout = timeout
        self._client: DaprClient | None = None
        self._closed = False
        self._lock = threading.Lock()

    def _connected(self) -> DaprClient:
        """The client, built on first use. The wait for the sidecar holds no lock, so ``close``
        never waits for it (shutdown stays prompt while the sidecar is not ready)."""
        from taskora.sidecar import connect

        if self._client is not None:
            return self._client
        if self._closed:
            raise BrokerUnavailable("the Dapr bus is closed")
        client = connect(self.grpc_port, deadline=self.timeout)
        with self._lock:
            if self._closed:
                client.close()
                raise BrokerUnavailable("the Dapr bus is closed")
            self._client = client
        return client

    def publish_batch(self, events: Sequence[tuple[CloudEvent, str]]) -> bool:
        """One event at a time, in order (bulk publish keeps no order; see the module)."""
        return False

    def publish(self, event: CloudEvent, topic: str) -> None:
        from taskora.sidecar import SIDECAR_ERRORS, failure

        try:
            self._connected().publish_event(
                pubsub_name=self.pubsub,
                topic_name=topic,
                data=event.model_dump_json(),
                data_content_type=CONTENT_TYPE,
                publish_metadata={PARTITION_KEY: event.userid},
            )
        except SIDECAR_ERRORS as exc:
            reason = failure(exc)
            raise BrokerUnavailable(f"the Dapr sidecar did not take the event: {reason}") from exc

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        return []  # the sidecar delivers to /dapr/events/<topic>

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._client is not None:
                self._client.close()
                self._client = None
