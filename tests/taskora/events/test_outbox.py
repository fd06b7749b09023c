"""Every state change writes its CloudEvent in the same transaction, and only then."""

from __future__ import annotations

import json

from tests.conftest import outbox
from tests.factories import task_body


def _types(client) -> list[str]:
    return [row.type for row in outbox(client)]


def test_each_change_emits_exactly_one_event(client, auth) -> None:
    task = client.post("/api/tasks", json=task_body(), headers=auth()).json()
    tid = task["id"]
    client.patch(f"/api/tasks/{tid}", json={"priority": "high"}, headers=auth())
    client.patch(f"/api/tasks/{tid}", json={"priority": "high"}, headers=auth())  # no change
    client.post(f"/api/tasks/{tid}/complete", headers=auth())
    client.post(f"/api/tasks/{tid}/complete", headers=auth())  # already done
    client.post(f"/api/tasks/{tid}/reopen", headers=auth())
    client.delete(f"/api/tasks/{tid}", headers=auth())
    assert _types(client) == [
        "task.created",
        "task.updated",
        "task.completed",
        "task.reopened",
        "task.deleted",
    ]


def test_rejected_writes_emit_nothing(client, auth) -> None:
    client.post("/api/tasks", json=task_body(recurrence="FREQ=DAILY"), headers=auth())  # 422
    other = client.post("/api/tasks", json=task_body(), headers=auth("bob")).json()
    client.patch(f"/api/tasks/{other['id']}", json={"title": "x"}, headers=auth("mallory"))  # 404
    assert _types(client) == ["task.created"]


def test_idempotent_retry_emits_no_second_event(client, auth) -> None:
    headers = {**auth(), "Idempotency-Key": "k1"}
    client.post("/api/tasks", json=task_body(), headers=headers)
    client.post("/api/tasks", json=task_body(), headers=headers)
    assert _types(client) == ["task.created"]


def test_update_event_carries_before_and_after_of_changed_fields(client, auth) -> None:
    task = client.post("/api/tasks", json=task_body(tags=["a"]), headers=auth()).json()
    client.patch(f"/api/tasks/{task['id']}", json={"title": "New", "tags": ["b"]}, headers=auth())
    data = json.loads(outbox(client)[-1].data)
    assert data["before"] == {"title": "Write the report", "tags": ["a"]}
    assert data["after"] == {"title": "New", "tags": ["b"]}
    assert data["task"]["title"] == "New"


def test_envelope_is_a_cloudevent_with_sequence_and_user(client, auth) -> None:
    from taskora.events.envelope import to_cloudevent

    task = client.post("/api/tasks", json=task_body(), headers=auth("carol")).json()
    row = outbox(client)[0]
    event = to_cloudevent(row).model_dump(mode="json")
    assert event["specversion"] == "1.0"
    assert event["type"] == "task.created"
    assert event["subject"] == f"tasks/{task['id']}"
    assert event["sequence"] == str(row.id)
    assert event["userid"] == "carol" and event["actor"] == "carol"
    assert event["datacontenttype"] == "application/json"
    assert event["data"]["task"]["id"] == task["id"]
    assert row.topic == "task-events"
