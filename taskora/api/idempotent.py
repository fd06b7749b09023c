"""Run a write under an ``Idempotency-Key``: do it once, replay its response afterwards."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from taskora.db import Database, utcnow
from taskora.domain.idempotency import StoredResponse, fingerprint, recall, remember

__all__ = ["run_idempotent"]


async def run_idempotent(
    *,
    db: Database,
    user_id: str,
    key: str,
    method: str,
    path: str,
    request_body: str,
    status_code: int,
    work: Callable[[Session], BaseModel],
) -> Response:
    request_fingerprint = fingerprint(method, path, request_body)

    def once(session: Session) -> tuple[StoredResponse, bool]:
        """The stored response and whether it was a replay; else do the work and store it."""
        stored = recall(
            session=session, user_id=user_id, key=key, request_fingerprint=request_fingerprint
        )
        if stored is not None:
            return stored, True
        stored = StoredResponse(status_code, work(session).model_dump_json())
        remember(
            session=session,
            user_id=user_id,
            key=key,
            request_fingerprint=request_fingerprint,
            response=stored,
            now=utcnow(),
        )
        return stored, False

    for attempt in (1, 2):
        try:
            stored, replayed = await db.run_write(once)
        except IntegrityError:
            # A concurrent request with the same key committed first: replay its response.
            if attempt == 2:
                raise
            continue
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type="application/json",
            headers=headers,
        )
    raise AssertionError("unreachable")
