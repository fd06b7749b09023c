"""The request faults of the self-test, planted by the app factory only when one is set, so a
healthy service carries no fault branch on its request path:

- ``error_rate``, ``slow_requests`` and the traffic count behind ``busy_above``: an ASGI
  middleware around the app;
- ``lose_writes`` and ``lose_keyless``: a task creator that rolls some creates back after
  answering them (overrides ``get_task_creator``);
- ``skip_owner_check``: a task reader that serves any user's task (overrides
  ``get_task_reader``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Response
from sqlalchemy import Connection, select
from sqlmodel import Session, col
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from taskora.api import task_access
from taskora.api.responses import json_response
from taskora.db import Database, utcnow
from taskora.domain import tasks
from taskora.failpoints import Failpoints
from taskora.models import Task
from taskora.schemas import TaskCreate, TaskPublic

__all__ = ["FaultMiddleware", "task_overrides"]

STREAM_PATH = "/api/events/stream"  # a subscription, not traffic (busy_above)


class FaultMiddleware:
    def __init__(self, app: ASGIApp, *, failpoints: Failpoints) -> None:
        self.app = app
        self.failpoints = failpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        faults, path = self.failpoints, scope["path"]
        if faults.busy_above and path.startswith("/api/") and path != STREAM_PATH:
            faults.traffic.saw(scope.get("client"))
        if faults.error_rate and path != "/health" and faults.chance(faults.error_rate):
            failed = JSONResponse({"detail": "failpoint: error_rate"}, status_code=500)
            await failed(scope, receive, send)
            return
        if faults.slow_requests and path.startswith("/api/"):
            await asyncio.sleep(faults.slow_requests / 1000)
        await self.app(scope, receive, send)


def _lossy_creator(faults: Failpoints) -> task_access.TaskCreator:
    """Failpoints lose_writes and lose_keyless: a lost create is answered 201 and rolled back,
    with no idempotency record either (a retry with the same key is a new, lost, write)."""

    async def create(*, db: Database, user_id: str, data: TaskCreate, key: str | None) -> Response:
        lost = faults.lose_writes > 0 and faults.chance(faults.lose_writes)
        if key is None and faults.lose_keyless > 0:
            lost = lost or faults.chance(faults.lose_keyless)
        if not lost:
            return await task_access.create_task(db=db, user_id=user_id, data=data, key=key)

        def lose(session: Session) -> TaskPublic:
            task = tasks.create_task(session=session, user_id=user_id, data=data, now=utcnow())
            session.rollback()  # acknowledged, never committed
            return task

        return json_response(await db.run_write(lose), status_code=201)

    return create


def _any_owners_task(*, connection: Connection, user_id: str, task_id: int) -> TaskPublic:
    """Failpoint skip_owner_check: the task with this id, whoever owns it."""
    owner = connection.scalar(select(col(Task.user_id)).where(col(Task.id) == task_id))
    return tasks.get_task(connection=connection, user_id=owner or user_id, task_id=task_id)


def _returning(value: Any) -> Callable[[], Awaitable[Any]]:
    async def dependency() -> Any:
        return value

    return dependency


def task_overrides(faults: Failpoints) -> dict[Callable[..., Any], Callable[..., Any]]:
    """The dependency overrides that plant the task faults set in ``faults`` (none if none)."""
    overrides: dict[Callable[..., Any], Callable[..., Any]] = {}
    if faults.lose_writes or faults.lose_keyless:
        overrides[task_access.get_task_creator] = _returning(_lossy_creator(faults))
    if faults.skip_owner_check:
        overrides[task_access.get_task_reader] = _returning(_any_owners_task)
    return overrides
