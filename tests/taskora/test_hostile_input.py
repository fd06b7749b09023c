"""No input answers 500: each reproduction of a hostile request is a clear 4xx, on SQLite and on
PostgreSQL (the ``client`` fixture runs both), and the service answers normally afterwards."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.factories import task_body


def _cursor(sort: str, values: list[object]) -> str:
    payload = json.dumps([sort, values]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/tasks", {"cursor": _cursor("-created_at", ["9999-12-31T23:59:59-23:59", 1])}),
        ("/api/tasks", {"cursor": _cursor("-created_at", ["0001-01-01T00:00:00+23:59", 1])}),
        ("/api/tasks", {"sort": "title", "cursor": _cursor("title", ["\udcff", 1])}),
        ("/api/tasks", {"sort": "title", "cursor": _cursor("title", ["a\x00", 1])}),
        ("/api/tasks", {"sort": "priority", "cursor": _cursor("priority", [2**40, 1])}),
        ("/api/tasks", {"sort": "priority", "cursor": _cursor("priority", [1, 2**63])}),
        ("/api/notifications", {"cursor": "9223372036854775808"}),
        ("/api/audit", {"cursor": "9999999999999999999"}),
    ],
)
def test_a_hostile_cursor_is_a_422_naming_the_cursor(client, auth, path, params) -> None:
    client.post("/api/tasks", json=task_body(), headers=auth())
    response = client.get(path, params=params, headers=auth())
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]
    assert client.get(path, headers=auth()).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/api/tasks", '{"title": "a", "priority": NaN}', "NaN is not a JSON number"),
        ("/api/tasks", '{"title": Infinity}', "Infinity is not a JSON number"),
        ("/api/tasks", '{"title": "a", "x": -Infinity}', "-Infinity is not a JSON number"),
        ("/api/tasks", '{"title": 1e999}', "1e999 is too large"),
        ("/api/tasks", '{"title": "\\udcff"}', "lone surrogate"),
        ("/api/tasks", '{"title": "a", "description": "x\\ud800"}', "lone surrogate"),
        ("/api/tasks", '{"title": "a", "tags": ["ok", {"\\udfff": 1}]}', "lone surrogate"),
        ("/api/tags", '{"name": "\\ud800"}', "lone surrogate"),
    ],
)
def test_a_body_that_is_not_strict_json_is_a_422_that_says_why(
    client, auth, path, body, says
) -> None:
    headers = {**auth(), "Content-Type": "application/json"}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["type"] == "json_invalid" and says in problem["ctx"]["error"], problem
    paired = '{"title": "\\ud83d\\ude00 ok"}'  # a surrogate pair is an emoji: fine
    created = client.post(path, content=paired, headers=headers) if path == "/api/tasks" else None
    assert created is None or created.json()["title"] == "\U0001f600 ok"


@pytest.mark.parametrize("due", ["8999-12-31T23:59:59-14:00", "1900-01-01T00:00:00+14:00"])
def test_a_date_is_range_checked_in_utc_too(client, auth, due) -> None:
    response = client.post("/api/tasks", json=task_body(due_at=due), headers=auth())
    assert response.status_code == 422
    assert "in UTC too" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("sub", ["a\x00b", "\udcff", "x" * 129, "", "tab\there", 42])
def test_a_token_whose_sub_is_not_a_safe_user_id_is_a_401(client, settings, sub) -> None:
    now = datetime.now(UTC)
    claims = {"sub": sub, "iat": now, "exp": now + timedelta(minutes=5)}
    try:
        token = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    except UnicodeEncodeError:  # PyJWT cannot sign a lone surrogate: send it escaped instead
        token = _signed_with_escaped_sub(settings.jwt_secret)
    response = client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text


def _signed_with_escaped_sub(secret: str) -> str:
    import hashlib
    import hmac

    def part(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    exp = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    signing = (
        part(b'{"alg":"HS256","typ":"JWT"}') + b"." + part(b'{"sub":"\\udcff","exp":%d}' % exp)
    )
    signature = hmac.new(secret.encode(), signing, hashlib.sha256).digest()
    return (signing + b"." + part(signature)).decode()


def test_every_user_id_the_harness_and_identity_providers_use_is_accepted(client, settings) -> None:
    for sub in ["alice", "user-17", "auth0|5f7c8ec7", "qa+1@example.com", "svc:reports_v2"]:
        token = jwt.encode(
            {"sub": sub, "exp": datetime.now(UTC) + timedelta(minutes=5)},
            settings.jwt_secret,
            algorithm="HS256",
        )
        response = client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (sub, response.text)
