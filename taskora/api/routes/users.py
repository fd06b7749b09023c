"""The signed-in user's preferences."""

from __future__ import annotations

from fastapi import APIRouter

from taskora.api.deps import CurrentUser, DatabaseDep
from taskora.db import utcnow
from taskora.domain import notifications
from taskora.schemas import PreferencesPublic, PreferencesUpdate

router = APIRouter(prefix="/api/users/me", tags=["users"])


@router.get("/preferences", response_model=PreferencesPublic)
async def get_preferences(user: CurrentUser, db: DatabaseDep) -> PreferencesPublic:
    """Read the user's preferences (reminders on by default)."""
    with db.read() as session:
        return notifications.get_preferences(session=session, user_id=user)


@router.patch("/preferences", response_model=PreferencesPublic)
async def update_preferences(
    body: PreferencesUpdate, user: CurrentUser, db: DatabaseDep
) -> PreferencesPublic:
    """Change the user's preferences."""
    with db.write() as session:
        return notifications.update_preferences(
            session=session, user_id=user, changes=body, now=utcnow()
        )
