"""The signed-in user's preferences."""

from __future__ import annotations

from fastapi import APIRouter, Response

from taskora.api.deps import CurrentUser, DatabaseDep
from taskora.api.responses import json_response
from taskora.api.strict_json import StrictJSONRoute
from taskora.db import utcnow
from taskora.domain import notifications
from taskora.schemas import PreferencesPublic, PreferencesUpdate

router = APIRouter(prefix="/api/users/me", tags=["users"], route_class=StrictJSONRoute)


@router.get("/preferences", response_model=PreferencesPublic)
async def get_preferences(user: CurrentUser, db: DatabaseDep) -> Response:
    """Read the user's preferences (reminders on by default)."""
    preferences = await db.run_read(
        lambda session: notifications.get_preferences(session=session, user_id=user)
    )
    return json_response(preferences)


@router.patch("/preferences", response_model=PreferencesPublic)
async def update_preferences(
    body: PreferencesUpdate, user: CurrentUser, db: DatabaseDep
) -> Response:
    """Change the user's preferences."""
    preferences = await db.run_write(
        lambda session: notifications.update_preferences(
            session=session, user_id=user, changes=body, now=utcnow()
        )
    )
    return json_response(preferences)
