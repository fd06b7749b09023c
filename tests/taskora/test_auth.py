"""Bearer JWT authentication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from taskora import auth
from taskora.cli import main
from taskora.settings import Settings


def _token(settings: Settings, **claims) -> str:
    base = {"sub": "alice", "exp": datetime.now(UTC) + timedelta(minutes=5)}
    base.update(claims)
    return jwt.encode(
        {k: v for k, v in base.items() if v is not None}, settings.jwt_secret, algorithm="HS256"
    )


def test_valid_token_is_accepted(client, settings) -> None:
    response = client.get("/api/tasks", headers={"Authorization": f"Bearer {_token(settings)}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic YWxpY2U6cHc=",
        "Bearer not-a-jwt",
        "expired",
        "bad-signature",
        "no-sub",
        "no-exp",
        "empty-sub",
        "alg-none",
    ],
)
def test_bad_credentials_are_401(client, settings, header) -> None:
    tokens = {
        "expired": _token(settings, exp=datetime.now(UTC) - timedelta(seconds=5)),
        "bad-signature": jwt.encode(
            {"sub": "alice", "exp": datetime.now(UTC) + timedelta(minutes=5)},
            "another-secret-that-is-long-enough-for-hs256",
            algorithm="HS256",
        ),
        "no-sub": _token(settings, sub=None),
        "no-exp": _token(settings, exp=None),
        "empty-sub": _token(settings, sub=""),
        "alg-none": jwt.encode(
            {"sub": "alice", "exp": datetime.now(UTC) + timedelta(minutes=5)},
            None,
            algorithm="none",
        ),
    }
    headers = (
        {}
        if header is None
        else {"Authorization": f"Bearer {tokens[header]}" if header in tokens else header}
    )
    for method, path in [("GET", "/api/tasks"), ("POST", "/api/tasks"), ("GET", "/api/tags")]:
        response = client.request(method, path, headers=headers, json={"title": "x"})
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_token_command_prints_a_token_the_service_accepts(
    client, settings, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("TASKORA_JWT_SECRET", settings.jwt_secret)
    assert main(["token", "carol"]) == 0
    token = capsys.readouterr().out.strip()
    assert client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert jwt.decode(token, settings.jwt_secret, algorithms=["HS256"])["sub"] == "carol"


def test_a_token_accepted_once_is_refused_after_it_expires(client, settings, monkeypatch) -> None:
    """Verified tokens are remembered; their expiry is checked again at every use."""
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    headers = {"Authorization": f"Bearer {_token(settings, exp=expires)}"}
    assert client.get("/api/tasks", headers=headers).status_code == 200
    monkeypatch.setattr(auth, "utcnow", lambda: expires + timedelta(seconds=1))
    response = client.get("/api/tasks", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or expired token"
    monkeypatch.setattr(auth, "utcnow", lambda: expires - timedelta(seconds=1))
    assert client.get("/api/tasks", headers=headers).status_code == 200
