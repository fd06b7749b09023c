"""Redis Streams as the bus: a stream ``taskora:{topic}`` per topic, a group per consumer.

``publish`` ``XADD``s the CloudEvent JSON (field ``event``), capped near ``maxlen`` entries.
Each consumer reads its streams in a group named after it, as this process's ``holder``, and
``XACK``s a message only once ``deliver`` applied it or recorded it as a dead letter. A
``RETRY`` stays pending; after ``reclaim_idle_ms`` ``XAUTOCLAIM`` hands it (or a dead process's
pending messages) to a live consumer. A consumer that has not read for ``dead_after_ms`` (a
killed worker) has its pending messages taken over at once; at start and after a broker outage a
consumer first handles what it was given and did not acknowledge. After ``max_deliveries``
failed deliveries, or at once if malformed or poison (``DROP``), a message is recorded as a
dead letter, copied to ``taskora:{topic}-dlq`` and acked.

Guarantees: at-least-once (a relay crash after ``XADD``, or a reclaim from a slow consumer,
delivers twice); ``deliver``'s processed-event record makes it exactly-once in effect. Order
holds per stream except around retries. A broker outage makes ``publish`` raise
``BrokerUnavailable`` (the outbox keeps the events) and the consumers wait and resume. A
message trimmed by ``maxlen`` while still pending in a group is lost to that group.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import redis
from pydantic import ValidationError
from redis.backoff import NoBackoff
from redis.retry import Retry

from taskora.db import Database, utcnow
from taskora.events.bus import BrokerUnavailable
from taskora.events.delivery import (
    Consumer,
    Outcome,
    StoreUnavailable,
    deliver,
    deliver_batch,
    record_dead_letter,
)
from taskora.events.envelope import CloudEvent, dead_letter_topic

__all__ = ["RedisBus"]

log = logging.getLogger("taskora.events")
Fields = dict[str, str] | None  # a stream entry's; None if deleted since (Redis < 7)


def _entries(reply: Any) -> list[tuple[str, list[tuple[str, Fields]]]]:
    """XREADGROUP's answer as (stream, messages) pairs (RESP2 gives a list, RESP3 a dict)."""
    reply = reply or []
    return list(reply.items()) if isinstance(reply, dict) else list(reply)


class RedisBus:
    name = "redis"

    def __init__(
        self,
        db: Database,
        consumers: Sequence[Consumer],
        *,
        url: str,
        holder: str,
        prefix: str = "taskora",
        maxlen: int = 100_000,
        count: int = 50,
        block_ms: int = 1000,
        reclaim_idle_ms: int = 30_000,
        reclaim_every: float = 5.0,
        dead_after_ms: int = 5_000,
        max_deliveries: int = 5,
        timeout: float = 2.0,
    ) -> None:
        self.db = db
        self.consumers = consumers
        self.holder = holder
        self.prefix = prefix
        self.maxlen = maxlen
        self.count = count
        self.block_ms = block_ms
        self.reclaim_idle_ms = reclaim_idle_ms
        self.reclaim_every = reclaim_every
        self.dead_after_ms = dead_after_ms
        self.max_deliveries = max_deliveries
        options: dict[str, Any] = {
            "decode_responses": True,
            "socket_connect_timeout": timeout,
            "retry": Retry(NoBackoff(), 1),  # once at once: a pooled connection may be stale
        }
        self.redis = redis.Redis.from_url(url, socket_timeout=timeout, **options)
        # Reads block for up to block_ms on the server: the socket waits that much longer.
        self.reader = redis.Redis.from_url(url, socket_timeout=timeout + block_ms / 1000, **options)

    def key(self, topic: str) -> str:
        return f"{self.prefix}:{topic}"

    def publish_batch(self, events: Sequence[tuple[CloudEvent, str]]) -> bool:
        """One event at a time (the relay's one-by-one path retries and dead-letters each)."""
        return False

    def publish(self, event: CloudEvent, topic: str) -> None:
        try:
            self.redis.xadd(
                self.key(topic),
                {"event": event.model_dump_json()},
                maxlen=self.maxlen,
                approximate=True,
            )
        except redis.RedisError as exc:
            raise BrokerUnavailable(f"Redis did not take the event: {exc}") from exc

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        threads = [
            threading.Thread(
                target=self._consume,
                args=(consumer, stop),
                name=f"taskora-redis-{consumer.name}",
                daemon=True,
            )
            for consumer in self.consumers
        ]
        for thread in threads:
            thread.start()
        return threads

    def close(self) -> None:
        self.redis.close()
        self.reader.close()

    def _consume(self, consumer: Consumer, stop: threading.Event) -> None:
        streams = {self.key(topic): topic for topic in sorted(consumer.topics)}
        ready = False
        next_reclaim = 0.0
        while not stop.is_set():
            try:
                if not ready:  # at start, and after an error (a restarted server lost them)
                    self._create_groups(consumer, streams)
                    self._own_backlog(consumer, streams, stop)
                    ready = True
                if time.monotonic() >= next_reclaim:
                    self._take_over_the_dead(consumer, streams)
                    self._reclaim(consumer, streams, stop)
                    next_reclaim = time.monotonic() + self.reclaim_every
                reply: Any = self.reader.xreadgroup(
                    consumer.name,
                    self.holder,
                    dict.fromkeys(streams, ">"),
                    count=self.count,
                    block=self.block_ms,
                )
                for stream, messages in _entries(reply):
                    self._handle_read(consumer, streams[stream], messages)
            except redis.RedisError as exc:
                log.warning("Redis consumer %s waits for the broker: %s", consumer.name, exc)
                ready = False
                stop.wait(1.0)
            except StoreUnavailable as exc:  # the message stays pending for us: read it again
                log.warning("Redis consumer %s waits for the database: %s", consumer.name, exc)
                ready = False
                stop.wait(1.0)
            except Exception:
                log.exception("Redis consumer %s failed; it runs again", consumer.name)
                stop.wait(1.0)

    def _create_groups(self, consumer: Consumer, streams: dict[str, str]) -> None:
        for stream in streams:
            try:  # from id 0: events published before the group existed are delivered too
                self.reader.xgroup_create(stream, consumer.name, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def _own_backlog(
        self, consumer: Consumer, streams: dict[str, str], stop: threading.Event
    ) -> None:
        """Handle what this holder was given and did not acknowledge, before anything new: the
        rest of a batch cut short by a broker outage (Redis kept it pending for us), or our
        messages from before a restart. Redis's documented recovery: read the history (ids
        after 0) until it is empty. A message that fails again stays pending for reclaim."""
        after: dict[Any, Any] = dict.fromkeys(streams, "0-0")  # stream -> last id handled
        while after and not stop.is_set():
            reply: Any = self.reader.xreadgroup(consumer.name, self.holder, after, count=self.count)
            for stream, messages in _entries(reply):
                if not messages:
                    after.pop(stream, None)
                    continue
                for message_id, fields in messages:
                    self._handle(consumer, streams[stream], message_id, fields, 1)
                after[stream] = messages[-1][0]

    def _take_over_the_dead(self, consumer: Consumer, streams: dict[str, str]) -> None:
        """A consumer of the group that has not read for ``dead_after_ms`` is gone (a live one
        reads every ``block_ms``; a killed worker's replacement reads under a new name): what
        it was given and did not acknowledge is taken over now, not after
        ``reclaim_idle_ms``, and once it holds nothing it is removed from the group."""
        for stream, topic in streams.items():
            for other in self.reader.xinfo_consumers(stream, consumer.name):
                if other["name"] == self.holder or other["idle"] < self.dead_after_ms:
                    continue
                if not other["pending"]:
                    self.reader.xgroup_delconsumer(stream, consumer.name, other["name"])
                    continue
                entries: Any = self.reader.xpending_range(
                    stream, consumer.name, "-", "+", self.count, consumername=other["name"]
                )
                times = {e["message_id"]: e["times_delivered"] + 1 for e in entries}
                claimed: Any = self.reader.xclaim(stream, consumer.name, self.holder, 0, [*times])
                for message_id, fields in claimed:
                    self._handle(consumer, topic, message_id, fields, times.get(message_id, 1))

    def _reclaim(self, consumer: Consumer, streams: dict[str, str], stop: threading.Event) -> None:
        """Take over what stayed pending too long (a dead process's, or our own retries)."""
        for stream, topic in streams.items():
            start = "0-0"
            while not stop.is_set():
                reply: Any = self.reader.xautoclaim(
                    stream, consumer.name, self.holder, self.reclaim_idle_ms, start, self.count
                )
                start, messages = reply[0], reply[1]  # Redis 7 drops trimmed ones from the PEL
                with self.reader.pipeline(transaction=False) as pipe:  # deliveries, this one too
                    for message_id, _ in messages:
                        pipe.xpending_range(stream, consumer.name, message_id, message_id, 1)
                    pending = pipe.execute() if messages else []
                times = {p[0]["message_id"]: p[0]["times_delivered"] for p in pending if p}
                for message_id, fields in messages:
                    self._handle(consumer, topic, message_id, fields, times.get(message_id, 1))
                if start == "0-0":
                    break

    def _handle_read(
        self, consumer: Consumer, topic: str, messages: list[tuple[str, Fields]]
    ) -> None:
        """New messages of one read: applied in one transaction and acknowledged in one call
        (the fast path under load); a malformed one, or any failure of the batch, sends them
        one by one through ``_handle``, which retries, parks or dead-letters each on its own."""
        events: list[tuple[CloudEvent, str]] = []
        for _message_id, fields in messages:
            payload = (fields or {}).get("event")
            try:
                events.append((CloudEvent.model_validate_json(payload or ""), topic))
            except ValidationError:
                break
        else:
            if len(events) > 1 and deliver_batch(self.db, consumer, events, utcnow()):
                self.reader.xack(self.key(topic), consumer.name, *(m for m, _ in messages))
                return
        for message_id, fields in messages:
            self._handle(consumer, topic, message_id, fields, 1)

    def _handle(
        self, consumer: Consumer, topic: str, message_id: str, fields: Fields, times: int
    ) -> None:
        payload = (fields or {}).get("event") or repr(fields)
        try:
            event = CloudEvent.model_validate_json(payload)
        except ValidationError as exc:
            reason = f"malformed message {message_id}: {exc}"
            return self._dead_letter(consumer, topic, message_id, None, reason, payload)
        outcome = deliver(self.db, consumer, event, topic, utcnow())
        if outcome is Outcome.SUCCESS:
            self.reader.xack(self.key(topic), consumer.name, message_id)
        elif outcome is Outcome.DROP:  # a poison event, recorded by deliver
            self._park(consumer, topic, message_id, payload)
        elif times >= self.max_deliveries:
            reason = f"failed {times} deliveries"
            self._dead_letter(consumer, topic, message_id, event.id, reason, payload)

    def _dead_letter(
        self,
        consumer: Consumer,
        topic: str,
        message_id: str,
        event_id: str | None,
        reason: str,
        payload: str,
    ) -> None:
        """Record it, copy it to the topic's dead-letter stream, then acknowledge it."""
        record_dead_letter(
            self.db,
            consumer=consumer.name,
            topic=topic,
            event_id=event_id,
            reason=reason,
            payload=payload,
            now=utcnow(),
        )
        self._park(consumer, topic, message_id, payload)

    def _park(self, consumer: Consumer, topic: str, message_id: str, payload: str) -> None:
        """Copy a dead letter to the topic's dead-letter stream, then acknowledge it."""
        with self.reader.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self.key(dead_letter_topic(topic)),
                {"event": payload, "consumer": consumer.name, "id": message_id},
                maxlen=self.maxlen,
            )
            pipe.xack(self.key(topic), consumer.name, message_id)
            pipe.execute()
