"""The event stream of one process: tails the outbox and hands each user's events to that
user's SSE subscribers.

Every worker of every replica tails the same table, so every subscriber sees every event
whichever process wrote it; no broker fan-out is involved. On PostgreSQL, ``NOTIFY`` (sent at
commit) wakes the tail at once, with polling as the fallback; on SQLite it polls.

Positions are the outbox ids. On PostgreSQL ids are allocated before commit, so a later id can
become visible before an earlier one: a missing id holds the tail back until the row appears or
``gap_timeout`` passes (the transaction rolled back), so no committed event is skipped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field

import psycopg

from taskora.db import Database
from taskora.events import metrics
from taskora.events.envelope import CloudEvent, to_cloudevent
from taskora.events.outbox import NOTIFY_CHANNEL, last_position, positions_after, read_ids
from taskora.models import OutboxEvent

__all__ = ["EventStream", "Subscriber", "TooManyStreams"]

log = logging.getLogger("taskora.stream")
QUEUE_LIMIT = 1000
READ_LIMIT = 500  # events read per poll; a full page is followed by the next at once
# On PostgreSQL a wake-up waits this much longer for the NOTIFYs of other commits, so that one
# read serves them all: under load one read per commit (and per replica) cost more than the
# commits themselves. It is the most it adds to an event's way to its subscribers.
COALESCE_SECONDS = 0.01


class TooManyStreams(Exception):
    """The user already holds as many streams as one process serves a user."""


@dataclass(eq=False)
class Subscriber:
    user_id: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[CloudEvent | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )

    async def next(self) -> CloudEvent | None:
        """The next live event; None once the subscriber fell too far behind."""
        return await self.queue.get()

    def offer(self, event: CloudEvent | None) -> None:
        """Runs on the subscriber's loop. A subscriber too slow to keep up is closed (None):
        it reconnects with Last-Event-ID and catches up from the log."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class EventStream:
    def __init__(
        self,
        db: Database,
        *,
        poll_interval: float = 0.05,
        gap_timeout: float = 3.0,
    ) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self.gap_timeout = gap_timeout
        self.position = 0
        self._gap_since: float | None = None
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscriber]] = {}

    def subscribe(self, user_id: str, *, limit: int | None = None) -> Subscriber:
        """A new subscriber of the user's events; TooManyStreams once the user holds ``limit``
        in this process."""
        subscriber = self._new_subscriber(user_id)
        with self._lock:
            group = self._subscribers.setdefault(user_id, set())
            if limit is not None and len(group) >= limit:
                raise TooManyStreams(f"{len(group)} streams open for this user (limit {limit})")
            group.add(subscriber)
        metrics.SSE_CONNECTIONS.inc()
        return subscriber

    def _new_subscriber(self, user_id: str) -> Subscriber:
        return Subscriber(user_id, self._loop())

    @staticmethod
    def _loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Idempotent: the stream's end and the response's end may both call it."""
        with self._lock:
            group = self._subscribers.get(subscriber.user_id, set())
            if subscriber not in group:
                return
            group.discard(subscriber)
            if not group:
                self._subscribers.pop(subscriber.user_id, None)
        metrics.SSE_CONNECTIONS.dec()

    def start_at_end(self) -> None:
        with self.db.read() as session:
            self.position = last_position(session=session)

    def poll_once(self) -> int:
        """Hand out what was committed since the last poll; returns how many events.

        The tail follows the log by ids and owners only, and reads whole events just for the
        users with a stream open in this process: under a write load most events have none, and
        reading each one whole cost a fifth of a worker's time."""
        with self.db.statement() as connection:
            positions = positions_after(
                connection=connection, position=self.position, limit=READ_LIMIT
            )
        wanted: list[int] = []
        advanced = 0
        for event_id, user_id in positions:
            if event_id != self.position + 1 and not self._gap_expired():
                break  # an earlier event may still commit: wait for it
            self._gap_since = None
            self.position = event_id
            advanced += 1
            if user_id in self._subscribers:  # a racy peek: _hand_out looks again, locked
                wanted.append(event_id)
        if wanted:
            with self.db.read(snapshot=False) as session:
                rows = read_ids(session=session, ids=wanted)
            for row in rows:
                self._hand_out(row)
        return advanced

    def _gap_expired(self) -> bool:
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since = now
        return now - self._gap_since >= self.gap_timeout

    def _hand_out(self, row: OutboxEvent) -> None:
        with self._lock:
            targets = list(self._subscribers.get(row.user_id, ()))
        if not targets:  # the user's streams closed since the tail looked
            return
        event = to_cloudevent(row)
        for subscriber in targets:
            subscriber.loop.call_soon_threadsafe(subscriber.offer, event)

    def run(self, stop: threading.Event) -> None:
        """The tail loop of this process (a thread); it outlives database outages."""
        while not stop.is_set():
            try:
                self.start_at_end()
                break
            except Exception:
                log.warning("event stream cannot read the outbox yet; retrying")
                stop.wait(1.0)
        waiter = _Notifications(self.db) if not self.db.is_sqlite else None
        try:
            while not stop.is_set():
                try:
                    if self.poll_once() >= READ_LIMIT:
                        continue
                    if waiter is not None:
                        waiter.wait(timeout=0.5 if self._gap_since is None else self.poll_interval)
                    else:
                        stop.wait(self.poll_interval)
                except Exception:
                    log.exception("event stream poll failed; retrying")
                    stop.wait(1.0)
        finally:
            if waiter is not None:
                waiter.close()


class _Notifications:
    """A LISTEN connection that wakes the tail when a transaction with events commits."""

    def __init__(self, db: Database) -> None:
        url = db.engine.url.set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._connection: psycopg.Connection | None = None

    def wait(self, timeout: float) -> None:
        try:
            if self._connection is None:
                self._connection = psycopg.connect(self._dsn, autocommit=True)
                self._connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
            woken = list(self._connection.notifies(timeout=timeout, stop_after=1))
            if woken:  # the NOTIFYs of commits close behind: one read serves them all
                list(self._connection.notifies(timeout=COALESCE_SECONDS))
        except psycopg.Error:
            self.close()
            time.sleep(timeout)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
