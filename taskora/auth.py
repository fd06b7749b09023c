"""Bearer tokens: HS256 JWTs whose ``sub`` is the user id."""

from __future__ import annotations

import functools
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
# Valid tokens remembered per process (a token is at most a few hundred bytes).
VERIFIED_TOKENS = 4096


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
    user_id, expires_at = _verified(settings.jwt_secret, settings.jwt_algorithm, token)
    if expires_at <= utcnow():  # a token verified while still valid has expired since
        raise InvalidToken("Signature has expired")
    return user_id, expires_at


@functools.lru_cache(maxsize=VERIFIED_TOKENS)
def _verified(secret: str, algorithm: str, token: str) -> tuple[str, datetime]:
    """Verify a token once: a client sends the same token with every request, and checking its
    signature again cost as much as the rest of a read. Only valid tokens are kept (a refused
    one raises, and nothing is cached); expiry is checked again at every use."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[algorithm], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    user_id = claims["sub"]
    if not isinstance(user_id, str) or not USER_ID.fullmatch(user_id):
        raise InvalidToken("the token's sub claim is not a user id")
    return user_id, datetime.fromtimestamp(claims["exp"], UTC)
