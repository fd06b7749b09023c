"""The service's consumers. Each is idempotent through ``deliver`` (a processed-event record
in the transaction of its effect) and subscribes to the topics it needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from taskora.domain import audit, notifications, series
from taskora.domain.payloads import Payload, ReminderDue, TaskChanged, payload_of
from taskora.events.delivery import Consumer, PoisonEvent
from taskora.events.envelope import CloudEvent
from taskora.events.types import REMINDER_EVENTS, TASK_EVENTS, EventType
from taskora.failpoints import OFF, Failpoints
from taskora.models import Task

__all__ = ["build_consumers", "consumers_of"]

Handler = Callable[[Session, CloudEvent, datetime], None]


def _payload(event: CloudEvent) -> Payload:
    """The event's data as the payload of its type; an event that carries something else is
    poison (an unknown type, a missing or mistyped field): dead-lettered, never applied."""
    try:
        return payload_of(event.type, event.data)
    except ValueError as exc:
        raise PoisonEvent(f"{event.type} {event.id}: not a valid payload: {exc}") from None


def _recurrence(session: Session, event: CloudEvent, now: datetime) -> None:
    """task.completed only (the consumer's ``types``)."""
    payload = _payload(event)
    assert isinstance(payload, TaskChanged)
    try:
        series.create_next_occurrence(session=session, task_id=payload.task.id, now=now)
    except ValueError as exc:  # a rule refused since it was stored, or over its budget
        raise PoisonEvent(f"{event.type} {event.id}: recurrence {exc}") from exc


def _notifications(session: Session, event: CloudEvent, now: datetime) -> None:
    """reminder.due only (the consumer's ``types``)."""
    payload = _payload(event)
    assert isinstance(payload, ReminderDue)
    notifications.notify_reminder(session=session, user_id=event.userid, task=payload.task, now=now)


def _audit(session: Session, event: CloudEvent, now: datetime) -> None:
    audit.record_event(session=session, event=event, payload=_payload(event))


def _no_recurrence(session: Session, event: CloudEvent, now: datetime) -> None:
    """Failpoint no_recurrence: the event counts as processed, no occurrence is created."""


def _swallowing(handle: Handler) -> Handler:
    """Failpoint silent_poison: an event the consumer cannot apply counts as processed."""

    def swallow(session: Session, event: CloudEvent, now: datetime) -> None:
        try:
            handle(session, event, now)
        except PoisonEvent:
            pass

    return swallow


def _a_day_late(handle: Handler) -> Handler:
    """Failpoint skew_recurrence: the next occurrence it creates is due a day after its rule's."""

    def late(session: Session, event: CloudEvent, now: datetime) -> None:
        handle(session, event, now)
        if event.type != EventType.TASK_COMPLETED:
            return
        payload = _payload(event)
        assert isinstance(payload, TaskChanged)
        done = session.get(Task, payload.task.id)
        if done is None or done.series_id is None:
            return
        following = select(Task).where(col(Task.series_id) == done.series_id,
                                       col(Task.created_at) == now)  # fmt: skip
        for task in session.scalars(following):
            if task.due_at is not None:
                task.due_at += timedelta(days=1)

    return late


def build_consumers(failpoints: Failpoints = OFF) -> tuple[Consumer, ...]:
    recurrence: Handler = _no_recurrence if failpoints.no_recurrence else _recurrence
    if failpoints.skew_recurrence:
        recurrence = _a_day_late(recurrence)
    consumers = (
        Consumer(
            "recurrence",
            frozenset({TASK_EVENTS}),
            recurrence,
            types=frozenset({EventType.TASK_COMPLETED}),
        ),
        Consumer(
            "notifications",
            frozenset({REMINDER_EVENTS}),
            _notifications,
            types=frozenset({EventType.REMINDER_DUE}),
        ),
        Consumer("audit", frozenset({TASK_EVENTS, REMINDER_EVENTS}), _audit),
    )
    if failpoints.silent_poison:
        return tuple(replace(c, handle=_swallowing(c.handle)) for c in consumers)
    return consumers


def consumers_of(topic: str, consumers: Sequence[Consumer]) -> list[Consumer]:
    return [c for c in consumers if topic in c.topics]
