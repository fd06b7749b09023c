"""Scheduled jobs: the reminder check and housekeeping.

Plain functions, called by ``POST /cron/<name>`` (a Dapr ``bindings.cron`` component) or by
the in-process ticker. Both may run on every replica at once: each job is safe to overlap.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from taskora.db import Database, utcnow
from taskora.domain.idempotency import forget_expired
from taskora.domain.notifications import archive_old
from taskora.domain.reminders import scan_due_reminders
from taskora.events import metrics
from taskora.events.outbox import oldest_undispatched, prune

__all__ = ["JOBS", "housekeeping", "reminder_check"]


def reminder_check(db: Database, *, now: datetime) -> int:
    """Emit ``reminder.due`` for every reminder due by ``now``; returns how many."""
    with db.write() as session:
        return scan_due_reminders(session=session, now=now)


def housekeeping(db: Database, *, event_retention: timedelta, idempotency_ttl: timedelta) -> None:
    now = utcnow()
    with db.write() as session:
        prune(session=session, now=now, retention=event_retention)
        archive_old(session=session, now=now)
        forget_expired(session=session, now=now, ttl=idempotency_ttl)


def measure_outbox_lag(db: Database) -> float:
    with db.read() as session:
        oldest = oldest_undispatched(session=session)
    lag = 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())
    metrics.OUTBOX_LAG.set(lag)
    return lag


# The names of the cron bindings (Dapr components) and of the routes that answer them.
JOBS = ("reminder-check", "housekeeping")
