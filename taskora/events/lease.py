"""A named lease in the database: at most one holder at a time, taken over once it expires."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from taskora.db import insert_ignoring_conflicts
from taskora.models import Lease

__all__ = ["acquire", "release"]

NEVER = datetime(1970, 1, 1).astimezone()


def acquire(*, session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; True when ``holder`` has it until ``now + ttl``."""
    insert_ignoring_conflicts(session, Lease, [{"name": name, "holder": "", "expires_at": NEVER}])
    result = session.execute(
        update(Lease)
        .where(col(Lease.name) == name)
        .where((col(Lease.holder) == holder) | (col(Lease.expires_at) < now))
        .values(holder=holder, expires_at=now + ttl)
        .returning(col(Lease.name))
    )
    return result.first() is not None


def release(*, session: Session, name: str, holder: str) -> None:
    session.execute(
        update(Lease)
        .where(col(Lease.name) == name, col(Lease.holder) == holder)
        .values(holder="", expires_at=NEVER)
    )
