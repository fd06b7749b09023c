"""Idempotent writes: a retried request with the same ``Idempotency-Key`` replays the first
response instead of doing the work again.

The record is written in the same transaction as the work it describes, and the key is the
primary key, so two racing requests cannot both succeed: the loser's transaction fails on the
key and it replays the winner's record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlmodel import Session, col

from taskora.errors import Invalid
from taskora.models import IdempotencyRecord

__all__ = ["StoredResponse", "fingerprint", "forget_expired", "recall", "remember"]


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str


def fingerprint(method: str, path: str, body: str) -> str:
    return hashlib.sha256(f"{method} {path}\n{body}".encode()).hexdigest()


def recall(
    *, session: Session, user_id: str, key: str, request_fingerprint: str
) -> StoredResponse | None:
    record = session.scalars(
        select(IdempotencyRecord).where(
            col(IdempotencyRecord.user_id) == user_id,
            col(IdempotencyRecord.key) == key,
        )
    ).first()
    if record is None:
        return None
    if record.fingerprint != request_fingerprint:
        raise Invalid(
            "this Idempotency-Key was used for a different request: use a new key",
            loc=("header", "Idempotency-Key"),
        )
    return StoredResponse(record.status_code, record.body)


def remember(
    *,
    session: Session,
    user_id: str,
    key: str,
    request_fingerprint: str,
    response: StoredResponse,
    now: datetime,
) -> None:
    session.add(
        IdempotencyRecord(
            user_id=user_id,
            key=key,
            fingerprint=request_fingerprint,
            status_code=response.status_code,
            body=response.body,
            created_at=now,
        )
    )
    session.flush()


def forget_expired(*, session: Session, now: datetime, ttl: timedelta) -> int:
    result = session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < now - ttl)
    )
    return cast(CursorResult[Any], result).rowcount or 0
