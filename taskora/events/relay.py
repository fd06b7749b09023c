"""The relay: moves outbox events to the bus, in order, after their transactions commit.

Every worker process runs a relay, but only the holder of the ``relay`` lease publishes, so no
event is published by two relays at once; a crashed holder's lease expires and another takes
over. An event is marked dispatched only after the bus took it: a crash in between publishes it
again (at-least-once; consumers are idempotent). A broker outage stops the relay, never loses an
event; an in-process consumer that keeps failing has the event dead-lettered after
``max_attempts``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

from taskora.db import Database, utcnow
from taskora.events import lease, metrics
from taskora.events.bus import BrokerUnavailable, Bus, ConsumerFailed
from taskora.events.delivery import record_dead_letter
from taskora.events.envelope import to_cloudevent
from taskora.events.outbox import mark_dispatched, note_attempt, undispatched
from taskora.models import OutboxEvent

__all__ = ["Relay"]

log = logging.getLogger("taskora.relay")
LEASE = "relay"


class Relay:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        holder: str,
        batch: int = 50,
        lease_ttl: timedelta = timedelta(seconds=10),
        max_attempts: int = 5,
        follower_retry: timedelta = timedelta(0),
    ) -> None:
        self.db = db
        self.bus = bus
        self.holder = holder
        self.batch = batch
        self.lease_ttl = lease_ttl
        self.max_attempts = max_attempts
        self.follower_retry = follower_retry
        self._leader_until = 0.0  # monotonic time until which the held lease needs no renewal
        self._follow_until = 0.0  # monotonic time before which a follower does not ask again

    def is_leader(self) -> bool:
        """Hold the lease; renewed once a third of its time has passed, not on every batch
        (a renewal is a write transaction), so it never lapses while this relay runs. A
        follower asks again only after ``follower_retry`` (default: at every poll; a second
        between asks made SQLite writes under validate's load several times slower, a cause
        not yet understood)."""
        asked = time.monotonic()
        if asked < self._leader_until:
            return True
        if asked < self._follow_until:
            return False
        with self.db.write() as session:
            held = lease.acquire(
                session=session, name=LEASE, holder=self.holder, now=utcnow(), ttl=self.lease_ttl
            )
        self._leader_until = asked + self.lease_ttl.total_seconds() / 3 if held else 0.0
        self._follow_until = 0.0 if held else asked + self.follower_retry.total_seconds()
        return held

    def run_once(self) -> int:
        """Publish one batch if this relay holds the lease; returns how many were dispatched."""
        if not self.is_leader():
            return 0
        with self.db.read() as session:
            rows = undispatched(session=session, limit=self.batch)
        if rows and self._publish_batch(rows):
            return len(rows)
        done: list[int] = []
        try:
            for row in rows:
                assert row.id is not None
                event = to_cloudevent(row)
                try:
                    self.bus.publish(event, row.topic)
                except BrokerUnavailable as exc:
                    log.warning("bus unavailable, holding events in the outbox: %s", exc)
                    break
                except ConsumerFailed as exc:
                    if not self._give_up(
                        row.id, row.topic, event.id, json.dumps(event.model_dump(mode="json")), exc
                    ):
                        break
                done.append(row.id)
                metrics.PUBLISHED.labels(row.type).inc()
        finally:
            if done:
                with self.db.write() as session:
                    mark_dispatched(session=session, ids=done, now=utcnow())
        return len(done)

    def _publish_batch(self, rows: Sequence[OutboxEvent]) -> bool:
        """The fast path, for buses that take a whole batch (inline); False: one by one."""
        if not self.bus.publish_batch([(to_cloudevent(r), r.topic) for r in rows]):
            return False
        with self.db.write() as session:
            mark_dispatched(
                session=session, ids=[r.id for r in rows if r.id is not None], now=utcnow()
            )
        for row in rows:
            metrics.PUBLISHED.labels(row.type).inc()
        return True

    def _give_up(
        self, row_id: int, topic: str, event_id: str, payload: str, exc: ConsumerFailed
    ) -> bool:
        """Count the failure; after max_attempts dead-letter the event and move on."""
        with self.db.write() as session:
            attempts = note_attempt(session=session, event_id=row_id)
        if attempts < self.max_attempts:
            return False
        for consumer in exc.consumers:
            record_dead_letter(
                self.db,
                consumer=consumer,
                topic=topic,
                event_id=event_id,
                reason=f"failed {attempts} times",
                payload=payload,
                now=utcnow(),
            )
        return True

    def release(self) -> None:
        self._leader_until = self._follow_until = 0.0
        with self.db.write() as session:
            lease.release(session=session, name=LEASE, holder=self.holder)
