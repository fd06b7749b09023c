"""Dapr pub/sub over the sidecar's HTTP API (Kafka/Redpanda or Redis behind it in clusters).

Publishing: ``POST http://127.0.0.1:$DAPR_HTTP_PORT/v1.0/publish/{pubsub}/{topic}`` with
``Content-Type: application/cloudevents+json``, so the sidecar passes our envelope (and its id)
through instead of wrapping it. Subscribing: the sidecar reads ``GET /dapr/subscribe`` and
delivers each event to its route; the answer is ``{"status": "SUCCESS" | "RETRY" | "DROP"}``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import httpx

from taskora.events.bus import BrokerUnavailable
from taskora.events.envelope import TOPICS, CloudEvent, dead_letter_topic

__all__ = ["CONTENT_TYPE", "DaprBus", "subscriptions", "topic_route"]

CONTENT_TYPE = "application/cloudevents+json"
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

    def __init__(
        self, *, port: int, pubsub: str, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.pubsub = pubsub
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=PUBLISH_TIMEOUT, transport=transport
        )

    def publish_batch(self, events: Sequence[tuple[CloudEvent, str]]) -> bool:
        """One event at a time (the relay's one-by-one path retries and dead-letters each)."""
        return False

    def publish(self, event: CloudEvent, topic: str) -> None:
        try:
            response = self.client.post(
                f"/v1.0/publish/{self.pubsub}/{topic}",
                content=event.model_dump_json(),
                headers={"Content-Type": CONTENT_TYPE},
            )
        except httpx.HTTPError as exc:
            raise BrokerUnavailable(f"Dapr sidecar unreachable: {exc}") from exc
        if not response.is_success:
            raise BrokerUnavailable(
                f"Dapr sidecar answered {response.status_code}: {response.text[:200]}"
            )

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        return []  # the sidecar delivers to /dapr/events/<topic>

    def close(self) -> None:
        self.client.close()
