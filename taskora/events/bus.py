"""The bus: where the relay hands events. One interface, three implementations.

- ``inline`` (default, no broker): the consumers run in this process, from the relay.
- ``redis``: Redis Streams with a consumer group per consumer (``taskora.events.redis_bus``).
- ``dapr``: the Dapr sidecar's pub/sub (``taskora.events.dapr``), so Kafka/Redpanda in clusters.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from taskora.db import Database, utcnow
from taskora.events.delivery import (
    Consumer,
    Outcome,
    StoreUnavailable,
    deliver,
    deliver_batch,
)
from taskora.events.envelope import CloudEvent

__all__ = ["Bus", "BrokerUnavailable", "ConsumerFailed", "InlineBus", "PublishError"]


class PublishError(Exception):
    """The event was not handed over; the relay keeps it and tries again."""


class BrokerUnavailable(PublishError):
    """The broker did not take the event (down, unreachable, timing out): wait for it, however
    long; the outbox holds every event meanwhile."""


class ConsumerFailed(PublishError):
    """An in-process consumer asked for a retry; after a few attempts the event is dead-lettered."""

    def __init__(self, consumers: list[str]) -> None:
        super().__init__(f"consumers asked to retry: {', '.join(consumers)}")
        self.consumers = consumers


class Bus(Protocol):
    name: str

    def publish(self, event: CloudEvent, topic: str) -> None:
        """Hand one event over, or raise ``PublishError``."""

    def publish_batch(self, events: Sequence[tuple[CloudEvent, str]]) -> bool:
        """Hand a whole batch over and return True, or return False: the relay then publishes
        the events one by one (a bus that takes one at a time always returns False)."""

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        """Start whatever consumes from the broker in this process (nothing for inline)."""

    def close(self) -> None:
        """Release connections."""


class InlineBus:
    """Delivers each event straight to this process's consumers (no broker)."""

    name = "inline"

    def __init__(self, db: Database, consumers: Sequence[Consumer]) -> None:
        self.db = db
        self.consumers = consumers

    def publish(self, event: CloudEvent, topic: str) -> None:
        try:
            failed = [
                consumer.name
                for consumer in self.consumers
                if topic in consumer.topics
                and deliver(self.db, consumer, event, topic, utcnow()) is Outcome.RETRY
            ]
        except StoreUnavailable as exc:
            # Not the event's fault: hold it without counting an attempt against it.
            raise BrokerUnavailable(str(exc)) from exc
        if failed:
            raise ConsumerFailed(failed)

    def publish_batch(self, events: Sequence[tuple[CloudEvent, str]]) -> bool:
        """Apply a whole batch, one transaction per consumer; False sends the relay back to
        publishing one event at a time (which retries or dead-letters the culprit alone)."""
        now = utcnow()
        return all(deliver_batch(self.db, consumer, events, now) for consumer in self.consumers)

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        return []

    def close(self) -> None:
        pass
