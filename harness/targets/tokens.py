"""Bearer tokens for the service under test, minted with its shared secret (PyJWT)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt

__all__ = ["fixed_token", "token_factory"]


def token_factory(secret: str, ttl: timedelta = timedelta(hours=2)) -> Callable[[str], str]:
    def mint(user: str) -> str:
        now = datetime.now(UTC)
        claims = {"sub": user, "iat": now, "exp": now + ttl}
        return jwt.encode(claims, secret, algorithm="HS256")

    return mint


def fixed_token(token: str) -> Callable[[str], str]:
    """Every user is the token's user: a deployment we hold one token for."""
    return lambda _user: token
