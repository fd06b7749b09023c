"""Request dependencies, as ``Annotated`` aliases. They are ``async`` because they only read
memory: a sync dependency would cost a thread hop per request."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from taskora.auth import InvalidToken, decode_token, decode_user
from taskora.db import Database
from taskora.events.delivery import Consumer
from taskora.events.stream import EventStream
from taskora.settings import Settings

__all__ = [
    "ConsumersDep",
    "CurrentUser",
    "DatabaseDep",
    "EventStreamDep",
    "HeadRevisionDep",
    "IdempotencyKey",
    "ReminderClockDep",
    "SettingsDep",
    "StreamClaims",
    "StreamUser",
    "get_consumers",
    "sidecar_only",
]

_bearer = HTTPBearer(auto_error=False, description="A JWT: `taskora token USER` prints one")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


async def get_consumers(request: Request) -> tuple[Consumer, ...]:
    consumers: tuple[Consumer, ...] = request.app.state.runtime.consumers
    return consumers


async def _reminder_clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = request.app.state.runtime.reminder_clock
    return clock


async def _head_revision(request: Request) -> str | None:
    revision: str | None = request.app.state.head_revision
    return revision


async def _event_stream(request: Request) -> EventStream:
    stream: EventStream = request.app.state.runtime.stream
    return stream


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]
# What this process's runtime built: its consumers (with any planted fault) and its stream tail.
ConsumersDep = Annotated[tuple[Consumer, ...], Depends(get_consumers)]
EventStreamDep = Annotated[EventStream, Depends(_event_stream)]
# The migration the code expects the schema at (read once, when the app is built)
HeadRevisionDep = Annotated[str | None, Depends(_head_revision)]
# The time the reminder scan runs at (the wall clock, unless a fault set it behind).
ReminderClockDep = Annotated[Callable[[], datetime], Depends(_reminder_clock)]


async def _current_user(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None:
        raise HTTPException(401, detail="Not authenticated", headers=_CHALLENGE)
    try:
        return decode_user(settings, credentials.credentials)
    except InvalidToken:
        raise HTTPException(401, detail="Invalid or expired token", headers=_CHALLENGE) from None


CurrentUser = Annotated[str, Depends(_current_user)]


@dataclass(frozen=True)
class StreamClaims:
    user: str
    expires_at: datetime  # the stream ends then: the client reconnects with a fresh token


async def _stream_user(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    access_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> StreamClaims:
    """Like CurrentUser, but also from ``?access_token=`` (EventSource cannot set headers)."""
    token = credentials.credentials if credentials else access_token
    if token is None:
        raise HTTPException(401, detail="Not authenticated", headers=_CHALLENGE)
    try:
        return StreamClaims(*decode_token(settings, token))
    except InvalidToken:
        raise HTTPException(401, detail="Invalid or expired token", headers=_CHALLENGE) from None


StreamUser = Annotated[StreamClaims, Depends(_stream_user)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retrying with the same key replays the first response and creates nothing",
    ),
]


async def sidecar_only(
    settings: SettingsDep, token: Annotated[str | None, Header(alias="dapr-api-token")] = None
) -> None:
    """Routes the Dapr sidecar calls (events, cron bindings, subscriptions): only callers that
    bring ``APP_API_TOKEN`` in ``dapr-api-token`` (compared in constant time). Without a token
    configured they answer only a local stack that runs no Dapr bus (development, tests)."""
    expected = settings.app_api_token
    if expected is None:
        if settings.bus == "dapr" or settings.env == "production":
            raise HTTPException(401, detail=NO_TOKEN_CONFIGURED)
        return
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(401, detail="This route answers the Dapr sidecar only")


NO_TOKEN_CONFIGURED = (
    "This route answers the Dapr sidecar only, and no APP_API_TOKEN is set: set it in the app "
    "and in the sidecar"
)


SIDECAR_ONLY: dict[int | str, dict[str, object]] = {
    401: {"description": "The call did not bring APP_API_TOKEN in dapr-api-token"}
}
