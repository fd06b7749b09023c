"""Tags: counts, colours, rename and delete applied to every task."""

from __future__ import annotations

import pytest

from tests.factories import task_body


def _tags_of(client, auth, task_id: int) -> list[str]:
    return client.get(f"/api/tasks/{task_id}", headers=auth()).json()["tags"]


def test_list_counts_tasks_per_tag(client, auth) -> None:
    client.post("/api/tasks", json=task_body(tags=["home", "money"]), headers=auth())
    client.post("/api/tasks", json=task_body(tags=["home"]), headers=auth())
    client.post("/api/tags", json={"name": "empty", "color": "#FF0000"}, headers=auth())
    items = client.get("/api/tags", headers=auth()).json()["items"]
    assert items == [
        {"name": "empty", "color": "#ff0000", "task_count": 0},
        {"name": "home", "color": "#6b7280", "task_count": 2},
        {"name": "money", "color": "#6b7280", "task_count": 1},
    ]


def test_create_conflict_and_validation(client, auth) -> None:
    assert client.post("/api/tags", json={"name": "Work"}, headers=auth()).status_code == 201
    assert client.post("/api/tags", json={"name": "work"}, headers=auth()).status_code == 409
    assert (
        client.post("/api/tags", json={"name": "ok", "color": "red"}, headers=auth()).status_code
        == 422
    )
    assert client.post("/api/tags", json={"name": "a/b"}, headers=auth()).status_code == 422


def test_rename_applies_to_every_task(client, auth) -> None:
    ids = [
        client.post("/api/tasks", json=task_body(tags=["wrk"]), headers=auth()).json()["id"]
        for _ in range(2)
    ]
    response = client.patch(
        "/api/tags/wrk", json={"name": "Work", "color": "#00AA00"}, headers=auth()
    )
    assert response.json() == {"name": "work", "color": "#00aa00", "task_count": 2}
    assert all(_tags_of(client, auth, i) == ["work"] for i in ids)
    assert [
        t["title"]
        for t in client.get("/api/tasks", params={"tag": "work"}, headers=auth()).json()["items"]
    ]


def test_rename_onto_an_existing_tag_is_409(client, auth) -> None:
    client.post("/api/tags", json={"name": "a"}, headers=auth())
    client.post("/api/tags", json={"name": "b"}, headers=auth())
    response = client.patch("/api/tags/a", json={"name": "b"}, headers=auth())
    assert response.status_code == 409
    assert {t["name"] for t in client.get("/api/tags", headers=auth()).json()["items"]} == {
        "a",
        "b",
    }


def test_delete_removes_the_tag_from_every_task(client, auth) -> None:
    task = client.post("/api/tasks", json=task_body(tags=["gone", "kept"]), headers=auth()).json()
    assert client.delete("/api/tags/gone", headers=auth()).status_code == 204
    assert _tags_of(client, auth, task["id"]) == ["kept"]
    assert client.delete("/api/tags/gone", headers=auth()).status_code == 404


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_another_users_tag_is_404(client, auth, method) -> None:
    client.post("/api/tags", json={"name": "mine"}, headers=auth("alice"))
    body = {"color": "#000000"} if method == "PATCH" else None
    assert (
        client.request(method, "/api/tags/mine", json=body, headers=auth("mallory")).status_code
        == 404
    )
    assert client.get("/api/tags", headers=auth("alice")).json()["items"][0]["color"] == "#6b7280"
