"""Create, read, change, complete, reopen and delete tasks; input validation; isolation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import task_body


def test_create_returns_201_with_defaults_and_normalised_fields(client: TestClient, auth) -> None:
    response = client.post(
        "/api/tasks",
        json=task_body(tags=["Work", "urgent-ish", "work"], due_at="2027-01-31T10:00:00+01:00"),
        headers=auth(),
    )
    assert response.status_code == 201
    task = response.json()
    assert task["priority"] == "medium"
    assert task["status"] == "open"
    assert task["tags"] == ["urgent-ish", "work"]
    assert task["due_at"] == "2027-01-31T09:00:00Z"
    assert task["completed_at"] is None
    assert client.get(f"/api/tasks/{task['id']}", headers=auth()).json() == task


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"title": ""}, "title", "at least 1"),
        ({"title": "   "}, "title", "at least 1"),
        ({"title": "x" * 201}, "title", "at most 200"),
        ({"title": "a", "description": "d" * 10_001}, "description", "at most 10000"),
        ({"title": "a", "priority": "critical"}, "priority", "'low'"),
        ({"title": "a", "due_at": "2027-01-01T10:00:00"}, "due_at", "timezone"),
        ({"title": "a", "remind_at": "2027-01-01T10:00:00"}, "remind_at", "timezone"),
        ({"title": "a", "due_at": "0001-01-01T00:00:00+01:00"}, "due_at", "between 1900 and 8999"),
        ({"title": "a", "tags": [f"t{i}" for i in range(21)]}, "tags", "at most 20"),
        ({"title": "a", "tags": ["two words"]}, "0", "pattern"),
        (
            {"title": "a", "recurrence": "FREQ=FORTNIGHTLY", "due_at": "2027-01-01T10:00:00Z"},
            "recurrence",
            "FREQ=FORTNIGHTLY: must be one of",
        ),
        (
            {"title": "a", "recurrence": "COUNT=3", "due_at": "2027-01-01T10:00:00Z"},
            "recurrence",
            "FREQ",
        ),
        ({"title": "a", "recurrence": "FREQ=DAILY"}, "due_at", "needs due_at"),
        ({"title": "a\x00b"}, "title", "pattern"),
        ({"title": "a", "colour": "red"}, "colour", "not permitted"),
    ],
)
def test_create_rejects_bad_input_naming_the_field(client, auth, body, field, words) -> None:
    response = client.post("/api/tasks", json=body, headers=auth())
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert any(str(p["loc"][-1]) == field and words in p["msg"] for p in problems), problems


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0"),  # dateutil would never end its search
        ("FREQ=MINUTELY;INTERVAL=0", "INTERVAL=0"),
        ("FREQ=YEARLY;INTERVAL=0", "INTERVAL=0"),
        ("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30", "no next occurrence found within"),
        ("FREQ=DAILY;BYHOUR=25", "BYHOUR=25"),
        ("FREQ=DAILY;COUNT=0", "COUNT=0"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20271231T000000Z", "COUNT and UNTIL"),
        ("FREQ=MINUTELY;BYSECOND=0,1,2", "BYSECOND=0,1,2: one value only"),
        ("EXDATE:20270101T000000Z\nRRULE:FREQ=DAILY", "one RRULE line"),
        ("FREQ=HOURLY;INTERVAL=6;BYHOUR=9", "not a valid RFC 5545 RRULE"),  # never from 10:00
    ],
)
def test_a_rule_that_cannot_run_bounded_is_refused_on_create_and_update(
    client, auth, rule, named
) -> None:
    due = "2027-01-01T10:00:00Z"
    created = client.post("/api/tasks", json=task_body(recurrence=rule, due_at=due), headers=auth())
    task = client.post("/api/tasks", json=task_body(due_at=due), headers=auth()).json()
    updated = client.patch(f"/api/tasks/{task['id']}", json={"recurrence": rule}, headers=auth())
    for response in (created, updated):
        assert response.status_code == 422, response.text
        (problem,) = response.json()["detail"]
        assert problem["loc"][-1] == "recurrence" and named in problem["msg"], problem


def test_recurrence_is_kept(client, auth) -> None:
    body = task_body(recurrence="FREQ=MONTHLY;INTERVAL=1;COUNT=6", due_at="2027-01-31T09:00:00Z")
    task = client.post("/api/tasks", json=body, headers=auth()).json()
    assert task["recurrence"] == "FREQ=MONTHLY;INTERVAL=1;COUNT=6"


def test_patch_changes_only_given_fields_and_null_clears(client, auth) -> None:
    created = client.post(
        "/api/tasks",
        json=task_body(description="first", due_at="2027-03-01T12:00:00Z", tags=["a"]),
        headers=auth(),
    ).json()
    response = client.patch(
        f"/api/tasks/{created['id']}",
        json={"title": "Renamed", "priority": "urgent", "due_at": None, "tags": ["B", "c"]},
        headers=auth(),
    )
    assert response.status_code == 200
    task = response.json()
    assert (task["title"], task["priority"], task["due_at"]) == ("Renamed", "urgent", None)
    assert task["description"] == "first"
    assert task["tags"] == ["b", "c"]
    assert task["updated_at"] > created["updated_at"]


def test_patch_rejects_null_title_and_unknown_fields(client, auth) -> None:
    task = client.post("/api/tasks", json=task_body(), headers=auth()).json()
    assert (
        client.patch(f"/api/tasks/{task['id']}", json={"title": None}, headers=auth()).status_code
        == 422
    )
    assert (
        client.patch(
            f"/api/tasks/{task['id']}", json={"status": "done"}, headers=auth()
        ).status_code
        == 422
    )


def test_patch_cannot_leave_a_recurring_task_without_due_date(client, auth) -> None:
    body = task_body(recurrence="FREQ=WEEKLY", due_at="2027-01-01T09:00:00Z")
    task = client.post("/api/tasks", json=body, headers=auth()).json()
    response = client.patch(f"/api/tasks/{task['id']}", json={"due_at": None}, headers=auth())
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "due_at"]


def test_complete_and_reopen_are_idempotent(client, auth) -> None:
    task = client.post("/api/tasks", json=task_body(), headers=auth()).json()
    done = client.post(f"/api/tasks/{task['id']}/complete", headers=auth()).json()
    assert done["status"] == "done" and done["completed_at"] is not None
    again = client.post(f"/api/tasks/{task['id']}/complete", headers=auth()).json()
    assert again["completed_at"] == done["completed_at"]
    reopened = client.post(f"/api/tasks/{task['id']}/reopen", headers=auth()).json()
    assert reopened["status"] == "open" and reopened["completed_at"] is None


def test_delete_then_404(client, auth) -> None:
    task = client.post("/api/tasks", json=task_body(tags=["x"]), headers=auth()).json()
    assert client.delete(f"/api/tasks/{task['id']}", headers=auth()).status_code == 204
    assert client.get(f"/api/tasks/{task['id']}", headers=auth()).status_code == 404
    assert client.delete(f"/api/tasks/{task['id']}", headers=auth()).status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"title": "stolen"}),
        ("DELETE", "", None),
        ("POST", "/complete", None),
        ("POST", "/reopen", None),
    ],
)
def test_another_users_task_is_404_and_untouched(client, auth, method, suffix, body) -> None:
    task = client.post("/api/tasks", json=task_body(title="private"), headers=auth("alice")).json()
    response = client.request(
        method, f"/api/tasks/{task['id']}{suffix}", json=body, headers=auth("mallory")
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Task not found"}
    assert "private" not in response.text
    assert client.get(f"/api/tasks/{task['id']}", headers=auth("alice")).json() == task


def test_lists_and_tags_are_per_user(client, auth) -> None:
    client.post("/api/tasks", json=task_body(title="alice's", tags=["home"]), headers=auth("alice"))
    client.post("/api/tasks", json=task_body(title="bob's", tags=["home"]), headers=auth("bob"))
    titles = [t["title"] for t in client.get("/api/tasks", headers=auth("bob")).json()["items"]]
    assert titles == ["bob's"]
    tags = client.get("/api/tags", headers=auth("bob")).json()["items"]
    assert tags == [{"name": "home", "color": "#6b7280", "task_count": 1}]


def test_unknown_task_id_is_404_and_absurd_id_is_422(client, auth) -> None:
    assert client.get("/api/tasks/999999", headers=auth()).status_code == 404
    assert client.get(f"/api/tasks/{2**64}", headers=auth()).status_code == 422
    assert client.get("/api/tasks/abc", headers=auth()).status_code == 422


class TestIdempotentCreate:
    def test_retry_with_same_key_returns_first_response_and_creates_nothing(
        self, client, auth
    ) -> None:
        headers = {**auth(), "Idempotency-Key": "create-1"}
        first = client.post("/api/tasks", json=task_body(), headers=headers)
        retry = client.post("/api/tasks", json=task_body(), headers=headers)
        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.json() == first.json()
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert len(client.get("/api/tasks", headers=auth()).json()["items"]) == 1

    def test_same_key_with_another_body_is_422(self, client, auth) -> None:
        headers = {**auth(), "Idempotency-Key": "create-2"}
        client.post("/api/tasks", json=task_body(title="one"), headers=headers)
        response = client.post("/api/tasks", json=task_body(title="two"), headers=headers)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]

    def test_keys_are_per_user(self, client, auth) -> None:
        a = client.post(
            "/api/tasks", json=task_body(), headers={**auth("alice"), "Idempotency-Key": "k"}
        )
        b = client.post(
            "/api/tasks", json=task_body(), headers={**auth("bob"), "Idempotency-Key": "k"}
        )
        assert a.json()["id"] != b.json()["id"]

    def test_failed_create_does_not_burn_the_key(self, client, auth) -> None:
        headers = {**auth(), "Idempotency-Key": "create-3"}
        bad = task_body(recurrence="FREQ=DAILY")  # no due_at: refused by the domain
        assert client.post("/api/tasks", json=bad, headers=headers).status_code == 422
        good = client.post("/api/tasks", json=task_body(), headers=headers)
        assert good.status_code == 201


def test_an_update_that_keeps_the_tags_in_another_order_changes_nothing(client, auth) -> None:
    # Names that a database collation may order otherwise than Python does.
    tags = ["a_b", "a-c", "a.b", "ab"]
    task = client.post("/api/tasks", json=task_body(tags=tags), headers=auth()).json()
    assert task["tags"] == sorted(tags)
    updated = client.patch(
        f"/api/tasks/{task['id']}", json={"tags": list(reversed(tags))}, headers=auth()
    ).json()
    assert updated == task  # unchanged: same updated_at, no task.updated event
    changed = client.patch(f"/api/tasks/{task['id']}", json={"tags": ["zz", "a_b"]}, headers=auth())
    assert changed.json()["tags"] == ["a_b", "zz"]
    assert client.get(f"/api/tasks/{task['id']}", headers=auth()).json()["tags"] == ["a_b", "zz"]
