"""The event stream (Server-Sent Events) of the signed-in user."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from taskora.api.deps import DatabaseDep, EventStreamDep, SettingsDep, StreamClaims, StreamUser
from taskora.db import Database, utcnow
from taskora.events.envelope import CloudEvent, to_cloudevent
from taskora.events.outbox import read_after
from taskora.events.stream import EventStream, Subscriber, TooManyStreams

router = APIRouter(prefix="/api/events", tags=["events"])

KEEP_ALIVE_SECONDS = 15
# Names the worker (host/pid) whose tail feeds this stream: a probe of live sync can tell which
# workers its tabs covered.
SERVED_BY = "X-Served-By"
RETRY = {"Retry-After": "10"}
RETENTION_NOTE = (
    "Events are kept for TASKORA_EVENT_RETENTION_HOURS (default 7 days) after delivery; a client "
    "whose Last-Event-ID is older first receives an event of type stream.reset and should reload. "
    "The stream ends with an event of type stream.expired when the token expires: reconnect with "
    "a fresh token and Last-Event-ID. A user holds at most TASKORA_SSE_STREAMS_PER_USER streams "
    "per worker (429 with Retry-After beyond)."
)


def _sse(event: CloudEvent) -> ServerSentEvent:
    return ServerSentEvent(data=event.model_dump_json(), event=event.type, id=event.sequence)


def _replay(db: Database, user_id: str, after: int) -> tuple[list[CloudEvent], bool]:
    """The user's events after ``after`` still in the log, and whether the log reaches back."""
    with db.read() as session:
        rows = read_after(session=session, position=after, limit=1000, user_id=user_id)
        first = read_after(session=session, position=0, limit=1)
    reaches_back = not first or (first[0].id or 0) <= after + 1
    return [to_cloudevent(row) for row in rows], reaches_back


async def _events(
    request: Request,
    db: Database,
    stream: EventStream,
    subscriber: Subscriber,
    claims: StreamClaims,
    last_event_id: int | None,
) -> AsyncIterator[ServerSentEvent]:
    user_id = claims.user
    try:
        position = last_event_id
        if position is not None:
            reaches_back = True
            while True:
                batch, complete = await db.run(_replay, db, user_id, position)
                reaches_back = reaches_back and complete
                if not reaches_back:
                    yield ServerSentEvent(data="{}", event="stream.reset")
                    reaches_back = True
                for event in batch:
                    position = event.position
                    yield _sse(event)
                if len(batch) < 1000:
                    break
        while not await request.is_disconnected():
            left = (claims.expires_at - utcnow()).total_seconds()
            try:
                live = await asyncio.wait_for(subscriber.next(), timeout=max(left, 0))
            except TimeoutError:  # the token expired: reconnect with a fresh one
                yield ServerSentEvent(data="{}", event="stream.expired")
                return
            if live is None:
                return  # too slow to keep up: the client reconnects with Last-Event-ID
            if position is not None and live.position <= position:
                continue  # already replayed
            yield _sse(live)
    finally:
        stream.unsubscribe(subscriber)


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": RETENTION_NOTE},
        429: {"description": "The user holds too many streams in this worker; retry later"},
    },
)
async def event_stream(
    request: Request,
    user: StreamUser,
    db: DatabaseDep,
    settings: SettingsDep,
    stream: EventStreamDep,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=2**63 - 1)] = None,
) -> EventSourceResponse:
    """Stream the user's events: id = log position, event = type, data = the CloudEvent."""
    try:
        subscriber = stream.subscribe(user.user, limit=settings.sse_streams_per_user)
    except TooManyStreams as exc:
        raise HTTPException(429, detail=f"Too many event streams: {exc}", headers=RETRY) from None
    return EventSourceResponse(
        _events(request, db, stream, subscriber, user, last_event_id),
        ping=KEEP_ALIVE_SECONDS,
        headers={SERVED_BY: f"{socket.gethostname()}/{os.getpid()}"},
        # Also when the stream never starts (a client gone before the first event is read)
        background=BackgroundTask(stream.unsubscribe, subscriber),
    )
