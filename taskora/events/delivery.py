"""Delivering one event to one consumer, exactly once in effect.

A consumer's effect and its ``processed_events`` row commit in one transaction: a redelivered
event finds the row and is skipped. The outcome uses Dapr's words: ``SUCCESS``; ``RETRY`` for
a transient failure (the event comes again); ``DROP`` for a poison event, which is recorded
as a dead letter first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from taskora.db import Database, insert_ignoring_conflicts, inserted
from taskora.events import metrics
from taskora.events.envelope import CloudEvent, dead_letter_topic
from taskora.models import DeadLetter, ProcessedEvent

__all__ = [
    "Consumer",
    "Outcome",
    "PoisonEvent",
    "StoreUnavailable",
    "deliver",
    "deliver_batch",
    "record_dead_letter",
]

log = logging.getLogger("taskora.events")


class Outcome(StrEnum):
    SUCCESS = "SUCCESS"
    RETRY = "RETRY"
    DROP = "DROP"


class StoreUnavailable(Exception):
    """The database failed (unreachable, locked, restarting): a retry later will do; the event is
    not to blame and must not be counted towards dead-lettering."""


class PoisonEvent(Exception):
    """The event can never be applied (malformed, or naming what cannot exist)."""


@dataclass(frozen=True)
class Consumer:
    """A named handler of the events on ``topics``. With ``types`` it acts only on those event
    types: any other event on its topics is acknowledged untouched, with no processed record
    and no transaction (most task events are nothing to the recurrence consumer).

    ``handle_batch``, when given, applies many events at once on the batch path (one statement
    for all of them, say) and must do for each what ``handle`` does."""

    name: str
    topics: frozenset[str]
    handle: Callable[[Session, CloudEvent, datetime], None]
    types: frozenset[str] | None = None
    handle_batch: Callable[[Session, Sequence[CloudEvent], datetime], None] | None = None

    def wants(self, event_type: str, topic: str) -> bool:
        return topic in self.topics and (self.types is None or event_type in self.types)

    def apply(self, session: Session, events: Sequence[CloudEvent], now: datetime) -> None:
        """Apply these events in the caller's transaction, in order."""
        if self.handle_batch is not None:
            self.handle_batch(session, events, now)
            return
        for event in events:
            self.handle(session, event, now)


def record_dead_letter(
    db: Database,
    *,
    consumer: str,
    topic: str,
    event_id: str | None,
    reason: str,
    payload: str,
    now: datetime,
) -> None:
    with db.write() as session:
        session.add(
            DeadLetter(
                consumer=consumer,
                topic=dead_letter_topic(topic),
                event_id=event_id,
                reason=reason[:2000],
                payload=payload,
                created_at=now,
            )
        )
    metrics.DEAD_LETTERED.labels(consumer, dead_letter_topic(topic)).inc()


def deliver_batch(
    db: Database, consumer: Consumer, events: Sequence[tuple[CloudEvent, str]], now: datetime
) -> bool:
    """Apply many events in one transaction (the fast path under load): True when all were
    applied. Any failure rolls the whole batch back and returns False; the caller then delivers
    the events one by one, so the failing event is retried or dead-lettered on its own."""
    wanted = [(event, topic) for event, topic in events if consumer.wants(event.type, topic)]
    if not wanted:
        return True
    try:
        with db.write() as session:
            rows = [
                {"consumer": consumer.name, "event_id": e.id, "processed_at": now}
                for e, _ in wanted
            ]
            new = set(_insert_new_ids(session, rows))
            consumer.apply(session, [event for event, _ in wanted if event.id in new], now)
    except Exception as exc:  # the relay retries these one by one: each fails or passes alone
        log.info(
            "batch for %s failed (%s); delivering its events one by one",
            consumer.name,
            type(exc).__name__,
        )
        return False
    for event, _topic in wanted:
        if event.id in new:
            metrics.CONSUMED.labels(consumer.name, event.type).inc()
        else:
            metrics.DUPLICATES.labels(consumer.name).inc()
    return True


def _insert_new_ids(session: Session, rows: list[dict[str, object]]) -> list[str]:
    """Record the events as processed; returns the ids that were not recorded before."""
    return inserted(session, ProcessedEvent, rows, "event_id")


def deliver(
    db: Database, consumer: Consumer, event: CloudEvent, topic: str, now: datetime
) -> Outcome:
    if not consumer.wants(event.type, topic):
        return Outcome.SUCCESS
    try:
        with db.write() as session:
            first = insert_ignoring_conflicts(
                session,
                ProcessedEvent,
                [{"consumer": consumer.name, "event_id": event.id, "processed_at": now}],
            )
            if not first:
                metrics.DUPLICATES.labels(consumer.name).inc()
                return Outcome.SUCCESS
            consumer.handle(session, event, now)
    except (OperationalError, InterfaceError) as exc:
        metrics.RETRIED.labels(consumer.name, event.type).inc()
        raise StoreUnavailable(f"database unavailable: {type(exc).__name__}") from exc
    except PoisonEvent as exc:
        try:
            record_dead_letter(
                db,
                consumer=consumer.name,
                topic=topic,
                event_id=event.id,
                reason=str(exc),
                payload=json.dumps(event.model_dump(mode="json")),
                now=now,
            )
        except SQLAlchemyError:
            log.exception("could not record a dead letter; the event will be retried")
            return Outcome.RETRY
        return Outcome.DROP
    except Exception:
        log.exception(
            "consumer failed; the event will be retried",
            extra={"consumer": consumer.name, "event_id": event.id},
        )
        metrics.RETRIED.labels(consumer.name, event.type).inc()
        return Outcome.RETRY
    metrics.CONSUMED.labels(consumer.name, event.type).inc()
    return Outcome.SUCCESS
