"""Health, readiness, metrics, request ids, body limit, JSON logs."""

from __future__ import annotations

import json
import logging

from fastapi.testclient import TestClient
from sqlalchemy import event, text

from taskora.app import create_app
from taskora.auth import issue_token
from taskora.db import Database
from taskora.logs import JsonFormatter
from taskora.settings import Settings
from tests.factories import task_body


def test_health(client) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_ready_when_migrated(client) -> None:
    assert client.get("/ready").json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok"},
    }


def test_not_ready_names_the_failed_check(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    settings = Settings(env="test", database_url=url, auto_migrate=False)
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert "taskora migrate" in body["checks"]["migrations"]


def test_not_ready_when_database_is_unreachable(tmp_path) -> None:
    settings = Settings(
        env="test", database_url=f"sqlite:///{tmp_path}/missing/dir/x.db", auto_migrate=False
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")


def test_development_start_migrates(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with TestClient(create_app(Settings(env="development", database_url=url))) as client:
        assert client.get("/ready").status_code == 200
    with Database(url).read() as session:
        assert session.execute(text("SELECT count(*) FROM tasks")).scalar_one() == 0


def test_metrics_count_requests_by_route_template(client, auth) -> None:
    task = client.post("/api/tasks", json=task_body(), headers=auth()).json()
    client.get(f"/api/tasks/{task['id']}", headers=auth())
    client.get("/api/tasks/999999", headers=auth())
    body = client.get("/metrics").text
    assert (
        'taskora_http_requests_total{method="GET",route="/api/tasks/{task_id}",status="200"}'
        in body
    )
    assert (
        'taskora_http_requests_total{method="GET",route="/api/tasks/{task_id}",status="404"}'
        in body
    )
    assert (
        'taskora_http_request_duration_seconds_bucket{le="0.15",method="POST",route="/api/tasks"}'
        in body
    )


def test_requests_no_route_matched_count_under_one_label_per_family(client, auth) -> None:
    # An answer before routing (a middleware's 500) or an unknown path: under /api/ it is an
    # API request, which the error-rate and latency alerts (route=~"/api/.*") must count.
    client.get("/api/no-such-thing", headers=auth())
    client.get("/no-such-page")
    body = client.get("/metrics").text
    assert 'taskora_http_requests_total{method="GET",route="/api/<unmatched>",status="404"}' in body
    assert 'taskora_http_requests_total{method="GET",route="<unmatched>",status="404"}' in body


def test_request_id_is_echoed_or_generated(client) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    generated = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"}).headers[
        "X-Request-ID"
    ]
    assert len(generated) == 32 and generated != "bad id\twith spaces"


def test_body_over_64_kib_is_413(client, auth) -> None:
    body = json.dumps(task_body(description="x" * 70_000)).encode()
    response = client.post(
        "/api/tasks", content=body, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_log_lines_are_json_with_the_request_id(settings, auth, caplog) -> None:
    settings = settings.model_copy(update={"access_log": True})
    with (
        TestClient(create_app(settings)) as client,
        caplog.at_level(logging.INFO, logger="taskora.access"),
    ):
        client.get("/api/tasks", headers={**auth(), "X-Request-ID": "req-42"})
    record = next(r for r in caplog.records if r.name == "taskora.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42"
    assert line["message"] == "GET /api/tasks 200" and line["status"] == 200
    assert "duration_ms" in line


def test_an_unreachable_database_is_503_with_retry_after(auth) -> None:
    settings = Settings(
        env="test",
        database_url="postgresql://nobody@127.0.0.1:1/none",
        auto_migrate=False,
        background=False,
    )
    headers = {"Authorization": f"Bearer {issue_token(settings, 'alice')}"}
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/tasks", headers=headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "retry" in response.json()["detail"]


def test_a_readiness_probe_is_one_statement(client) -> None:
    # Probes come many a second under load: no transaction, no Alembic table lookups.
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = client.app.state.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/ready").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements == ["SELECT version_num FROM alembic_version"]
