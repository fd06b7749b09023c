"""The event faults of the self-test, planted by wrapping the seams they break (as httpx swaps a
transport): the runtime wraps its bus and builds its stream tail from here only when one is
set, so the relay, the stream and the SSE route carry no fault branch.

- ``LossyBus``: ``lose_events`` / ``lose_deletes``: the bus takes an event and delivers nothing.
- ``FaultyEventStream``: ``drop_events`` (a live event reaches no tab of this process) and
  ``sse_delay`` / ``slow_worker`` (each live event is held until it is that old).
- ``late_clock``: ``late_reminders``: the reminder scan runs on a clock that far behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from taskora.db import Database, utcnow
from taskora.events.bus import Bus
from taskora.events.envelope import CloudEvent
from taskora.events.stream import EventStream, Subscriber
from taskora.events.types import EventType
from taskora.failpoints import Failpoints
from taskora.models import OutboxEvent

__all__ = ["FaultyEventStream", "LossyBus", "late_clock", "wrap_bus"]


class LossyBus:
    """A bus that reports a share of the events (or every ``task.deleted``) published and drops
    them: the relay marks them dispatched, no consumer ever sees them."""

    def __init__(self, bus: Bus, failpoints: Failpoints) -> None:
        self.bus = bus
        self.failpoints = failpoints
        self.name = bus.name

    def _lost(self, event: CloudEvent) -> bool:
        if self.failpoints.lose_deletes and event.type == EventType.TASK_DELETED:
            return True
        return self.failpoints.chance(self.failpoints.lose_events)

    def publish(self, event: CloudEvent, topic: str) -> None:
        if not self._lost(event):
            self.bus.publish(event, topic)

    def publish_batch(self, events: Sequence[tuple[CloudEvent, str]]) -> bool:
        kept = [(event, topic) for event, topic in events if not self._lost(event)]
        return self.bus.publish_batch(kept) if kept else True

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        return self.bus.start(stop)

    def close(self) -> None:
        self.bus.close()


def wrap_bus(bus: Bus, failpoints: Failpoints) -> Bus:
    """The bus, lossy when ``lose_events`` or ``lose_deletes`` is set."""
    return LossyBus(bus, failpoints) if failpoints.lose_events or failpoints.lose_deletes else bus


class _HeldSubscriber(Subscriber):
    """A tab whose live events are held until they are ``stream_delay()`` old."""

    failpoints: Failpoints

    async def next(self) -> CloudEvent | None:
        event = await super().next()
        if event is not None:
            await self.failpoints.hold(event.time)
        return event


class FaultyEventStream(EventStream):
    """The stream tail with ``drop_events`` and the SSE holds planted."""

    def __init__(self, db: Database, failpoints: Failpoints) -> None:
        super().__init__(db)
        self.failpoints = failpoints

    def _new_subscriber(self, user_id: str) -> Subscriber:
        if not self.failpoints.holds_streams:
            return super()._new_subscriber(user_id)
        subscriber = _HeldSubscriber(user_id, self._loop())
        subscriber.failpoints = self.failpoints
        return subscriber

    def _hand_out(self, row: OutboxEvent) -> None:
        if self.failpoints.drop_events and self.failpoints.chance(self.failpoints.drop_events):
            return  # no subscriber of this process gets it live
        super()._hand_out(row)


def late_clock(seconds: float) -> Callable[[], datetime]:
    """The wall clock, ``seconds`` behind."""
    behind = timedelta(seconds=seconds)
    return lambda: utcnow() - behind
