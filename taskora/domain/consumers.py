"""The service's consumers. Each is idempotent through ``deliver`` (a processed-event record
in the transaction of its effect) and subscribes to the topics it needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel import Session

from taskora.domain import audit, notifications, series
from taskora.domain.payloads import Payload, ReminderDue, TaskChanged, payload_of
from taskora.events.delivery import Consumer, PoisonEvent
from taskora.events.envelope import CloudEvent
from taskora.events.types import REMINDER_EVENTS, TASK_EVENTS, EventType

__all__ = ["Handler", "build_consumers", "consumers_of", "read_payload"]

Handler = Callable[[Session, CloudEvent, datetime], None]


def read_payload(event: CloudEvent) -> Payload:
    """The event's data as the payload of its type; an event that carries something else is
    poison (an unknown type, a missing or mistyped field): dead-lettered, never applied."""
    try:
        return payload_of(event.type, event.data)
    except ValueError as exc:
        raise PoisonEvent(f"{event.type} {event.id}: not a valid payload: {exc}") from None


def _recurrence(session: Session, event: CloudEvent, now: datetime) -> None:
    """task.completed only (the consumer's ``types``)."""
    payload = read_payload(event)
    assert isinstance(payload, TaskChanged)
    try:
        series.create_next_occurrence(session=session, task_id=payload.task.id, now=now)
    except ValueError as exc:  # a rule refused since it was stored, or over its budget
        raise PoisonEvent(f"{event.type} {event.id}: recurrence {exc}") from exc


def _notifications(session: Session, event: CloudEvent, now: datetime) -> None:
    """reminder.due only (the consumer's ``types``)."""
    payload = read_payload(event)
    assert isinstance(payload, ReminderDue)
    notifications.notify_reminder(session=session, user_id=event.userid, task=payload.task, now=now)


def _audit(session: Session, event: CloudEvent, now: datetime) -> None:
    _audit_batch(session, [event], now)


def _audit_batch(session: Session, events: Sequence[CloudEvent], now: datetime) -> None:
    """The batch path's: every entry in one INSERT."""
    audit.record_events(session=session, events=[(event, read_payload(event)) for event in events])


def build_consumers() -> tuple[Consumer, ...]:
    return (
        Consumer(
            "recurrence",
            frozenset({TASK_EVENTS}),
            _recurrence,
            types=frozenset({EventType.TASK_COMPLETED}),
        ),
        Consumer(
            "notifications",
            frozenset({REMINDER_EVENTS}),
            _notifications,
            types=frozenset({EventType.REMINDER_DUE}),
        ),
        Consumer(
            "audit", frozenset({TASK_EVENTS, REMINDER_EVENTS}), _audit, handle_batch=_audit_batch
        ),
    )


def consumers_of(topic: str, consumers: Sequence[Consumer]) -> list[Consumer]:
    return [c for c in consumers if topic in c.topics]
