"""The consumer faults of the self-test, planted by wrapping the consumers' handlers (the
runtime calls ``with_faults`` only when a failpoint is set):

- ``no_recurrence``: the recurrence consumer creates no next occurrence (the event still counts
  as processed);
- ``skew_recurrence``: a next occurrence is due a day after the day its rule gives;
- ``silent_poison``: an event a consumer cannot apply counts as processed, with no dead letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from taskora.domain.consumers import Handler, read_payload
from taskora.domain.payloads import TaskChanged
from taskora.events.delivery import Consumer, PoisonEvent
from taskora.events.envelope import CloudEvent
from taskora.events.types import EventType
from taskora.failpoints import Failpoints
from taskora.models import Task

__all__ = ["with_faults"]


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
        payload = read_payload(event)
        assert isinstance(payload, TaskChanged)
        done = session.get(Task, payload.task.id)
        if done is None or done.series_id is None:
            return
        following = select(Task).where(
            col(Task.series_id) == done.series_id, col(Task.created_at) == now
        )
        for task in session.scalars(following):
            if task.due_at is not None:
                task.due_at += timedelta(days=1)

    return late


def _recurrence_faults(handle: Handler, faults: Failpoints) -> Handler:
    if faults.no_recurrence:
        handle = _no_recurrence
    return _a_day_late(handle) if faults.skew_recurrence else handle


def with_faults(consumers: Sequence[Consumer], faults: Failpoints) -> tuple[Consumer, ...]:
    """``consumers`` with the faults set in ``faults`` planted in their handlers (a consumer
    whose handler is wrapped loses its batch handler, so every path meets the fault)."""
    planted = []
    for consumer in consumers:
        handle = consumer.handle
        if consumer.name == "recurrence":
            handle = _recurrence_faults(handle, faults)
        if faults.silent_poison:
            handle = _swallowing(handle)
        if handle is not consumer.handle:
            consumer = replace(consumer, handle=handle, handle_batch=None)
        planted.append(consumer)
    return tuple(planted)
