"""Bearer tokens: HS256 JWTs whose ``sub`` is the user id."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jwt

from taskora.db import utcnow
from taskora.settings import Settings

__all__ = ["InvalidToken", "decode_token", "decode_user", "issue_token"]

MAX_USER_ID = 128
# What a user id may hold: the characters of e-mail addresses and identity-provider subjects
# (auth0|123, google-oauth2|..., user@example.com); never a control character or NUL.
USER_ID = re.compile(rf"[A-Za-z0-9._@:+|=-]{{1,{MAX_USER_ID}}}")


class InvalidToken(Exception):
    """The token is missing, malformed, badly signed, expired or names no user."""


def issue_token(settings: Settings, user_id: str, *, ttl_seconds: int | None = None) -> str:
    if not USER_ID.fullmatch(user_id):
        raise ValueError(f"a user id has 1-{MAX_USER_ID} of A-Z a-z 0-9 . _ @ : + | = -")
    now = utcnow()
    ttl = timedelta(seconds=ttl_seconds or settings.token_ttl_seconds)
    claims = {"sub": user_id, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)


def decode_user(settings: Settings, token: str) -> str:
    return decode_token(settings, token)[0]


def decode_token(settings: Settings, token: str) -> tuple[str, datetime]:
    """The token's user id and the moment it expires (UTC)."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    user_id = claims["sub"]
    if not isinstance(user_id, str) or not USER_ID.fullmatch(user_id):
        raise InvalidToken("the token's sub claim is not a user id")
    return user_id, datetime.fromtimestamp(claims["exp"], UTC)
