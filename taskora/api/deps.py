"""Request dependencies, as ``Annotated`` aliases. They are ``async`` because they only read
memory: a sync dependency would cost a thread hop per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from taskora.auth import InvalidToken, decode_user
from taskora.db import Database
from taskora.settings import Settings

__all__ = ["CurrentUser", "DatabaseDep", "IdempotencyKey", "SettingsDep"]

_bearer = HTTPBearer(auto_error=False, description="A JWT: `taskora token USER` prints one")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]


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
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retrying with the same key replays the first response and creates nothing",
    ),
]
