"""Notifications: made from due reminders, per user."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from taskora.api.deps import CurrentUser, DatabaseDep
from taskora.api.query_model import query_model
from taskora.api.responses import json_response
from taskora.api.strict_json import StrictJSONRoute
from taskora.db import utcnow
from taskora.domain import notifications
from taskora.schemas import NotificationPublic, NotificationQuery, NotificationsPage, UnreadCount

router = APIRouter(prefix="/api/notifications", tags=["notifications"], route_class=StrictJSONRoute)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such notification"}}


_notification_query, _NOTIFICATION_QUERY_DOCS = query_model(NotificationQuery)


@router.get("", openapi_extra=_NOTIFICATION_QUERY_DOCS, response_model=NotificationsPage)
async def list_notifications(
    query: Annotated[NotificationQuery, Depends(_notification_query)],
    user: CurrentUser,
    db: DatabaseDep,
) -> Response:
    """List notifications, newest first (``unread=true`` for unread ones only)."""
    page = await db.run_read(
        lambda session: notifications.list_notifications(session=session, user_id=user, query=query)
    )
    return json_response(page)


@router.get("/unread-count", response_model=UnreadCount)
async def unread_count(user: CurrentUser, db: DatabaseDep) -> Response:
    """How many notifications are unread."""
    unread = await db.run_read(
        lambda session: notifications.unread_count(session=session, user_id=user), snapshot=False
    )
    return json_response(UnreadCount(unread=unread))


@router.post("/read-all", response_model=UnreadCount)
async def read_all(user: CurrentUser, db: DatabaseDep) -> Response:
    """Mark every notification read."""
    await db.run_write(
        lambda session: notifications.mark_all_read(session=session, user_id=user, now=utcnow())
    )
    return json_response(UnreadCount(unread=0))


@router.post("/{notification_id}/read", response_model=NotificationPublic, responses=NOT_FOUND)
async def read_one(
    notification_id: Annotated[int, Path(ge=1, le=2**63 - 1)], user: CurrentUser, db: DatabaseDep
) -> Response:
    """Mark one notification read."""
    read = await db.run_write(
        lambda session: notifications.mark_read(
            session=session, user_id=user, notification_id=notification_id, now=utcnow()
        )
    )
    return json_response(read)


@router.delete("", status_code=204)
async def clear(user: CurrentUser, db: DatabaseDep) -> Response:
    """Delete all of the user's notifications."""
    await db.run_write(lambda session: notifications.clear(session=session, user_id=user))
    return Response(status_code=204)
