"""GET /api/tasks: every filter, every sort, and cursor pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.factories import SORTS, task_body


@pytest.fixture
def tasks(client: TestClient, auth) -> dict[str, dict]:
    """Six tasks with varied fields; 'old' is overdue, 'done' is completed."""
    now = datetime.now(UTC)
    specs = {
        "old": task_body(
            title="Pay rent",
            priority="urgent",
            tags=["home", "money"],
            due_at=(now - timedelta(days=2)).isoformat(),
        ),
        "soon": task_body(
            title="call Alice",
            description="about the RENT contract",
            priority="high",
            tags=["home"],
            due_at=(now + timedelta(days=1)).isoformat(),
        ),
        "later": task_body(
            title="Book flights",
            priority="low",
            tags=["travel", "money"],
            due_at=(now + timedelta(days=30)).isoformat(),
        ),
        "undated": task_body(title="Read a book", priority="low"),
        "done": task_body(
            title="Water plants",
            priority="medium",
            tags=["home"],
            due_at=(now - timedelta(days=1)).isoformat(),
        ),
        "percent": task_body(title="Raise 100% of budget_x", priority="medium"),
    }
    created = {
        name: client.post("/api/tasks", json=body, headers=auth()).json()
        for name, body in specs.items()
    }
    client.post(f"/api/tasks/{created['done']['id']}/complete", headers=auth())
    return created


def _titles(client: TestClient, auth, **params) -> list[str]:
    response = client.get("/api/tasks", params=params, headers=auth())
    assert response.status_code == 200, response.text
    return [t["title"] for t in response.json()["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"status": "open"},
            {"Pay rent", "call Alice", "Book flights", "Read a book", "Raise 100% of budget_x"},
        ),
        ({"status": "done"}, {"Water plants"}),
        ({"priority": ["low", "urgent"]}, {"Pay rent", "Book flights", "Read a book"}),
        ({"tag": "home"}, {"Pay rent", "call Alice", "Water plants"}),
        ({"tag": ["home", "money"]}, {"Pay rent"}),
        ({"tag": ["HOME", "travel"]}, set()),
        ({"q": "rent"}, {"Pay rent", "call Alice"}),
        ({"q": "BOOK"}, {"Book flights", "Read a book"}),
        ({"q": "100%"}, {"Raise 100% of budget_x"}),
        ({"q": "t_x"}, {"Raise 100% of budget_x"}),
        ({"q": "%"}, {"Raise 100% of budget_x"}),
        ({"overdue": "true"}, {"Pay rent"}),
        (
            {"overdue": "false"},
            {"call Alice", "Book flights", "Read a book", "Water plants", "Raise 100% of budget_x"},
        ),
        ({"status": "open", "priority": "high", "tag": "home", "q": "alice"}, {"call Alice"}),
    ],
)
def test_filters(client, auth, tasks, params, expected) -> None:
    assert set(_titles(client, auth, **params)) == expected


def test_due_window(client, auth, tasks) -> None:
    now = datetime.now(UTC)
    window = {"due_after": now.isoformat(), "due_before": (now + timedelta(days=7)).isoformat()}
    assert _titles(client, auth, **window) == ["call Alice"]
    assert (
        client.get(
            "/api/tasks", params={"due_before": "2027-01-01T00:00:00"}, headers=auth()
        ).status_code
        == 422
    )


def test_default_sort_is_newest_first(client, auth, tasks) -> None:
    assert _titles(client, auth) == [t["title"] for t in reversed(list(tasks.values()))]


@pytest.mark.parametrize("sort", SORTS)
def test_sorts_and_pagination_walk_every_task_once(client, auth, tasks, sort) -> None:
    seen: list[dict] = []
    cursor = None
    for _ in range(10):
        params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/tasks", params=params, headers=auth()).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(t["id"] for t in seen) == sorted(t["id"] for t in tasks.values())
    assert seen == _sorted_like_the_api(list(tasks.values()), sort, client, auth)


def _sorted_like_the_api(items: list[dict], sort: str, client, auth) -> list[dict]:
    """The order each sort promises, computed from the tasks' fields."""
    current = {t["id"]: client.get(f"/api/tasks/{t['id']}", headers=auth()).json() for t in items}
    rows = list(current.values())
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    rank = {"low": 0, "medium": 1, "high": 2, "urgent": 3}
    if name == "due_at":
        dated = sorted(
            (r for r in rows if r["due_at"]),
            key=lambda r: (r["due_at"], r["id"]),
            reverse=descending,
        )
        undated = sorted(
            (r for r in rows if not r["due_at"]), key=lambda r: r["id"], reverse=descending
        )
        return dated + undated
    key = {
        "created_at": lambda r: (r["created_at"], r["id"]),
        "priority": lambda r: (rank[r["priority"]], r["id"]),
        "title": lambda r: (r["title"].lower(), r["id"]),
    }[name]
    return sorted(rows, key=key, reverse=descending)


def test_pages_do_not_shift_when_tasks_are_added(client, auth, tasks) -> None:
    first = client.get("/api/tasks", params={"limit": 3}, headers=auth()).json()
    client.post("/api/tasks", json=task_body(title="newest"), headers=auth())
    second = client.get(
        "/api/tasks", params={"limit": 3, "cursor": first["next_cursor"]}, headers=auth()
    ).json()
    ids = [t["id"] for t in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 6
    assert "newest" not in [t["title"] for t in second["items"]]


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ0aXRsZSIsWzEsMl1d", "eyJhIjoxfQ"])
def test_bad_cursor_is_422(client, auth, tasks, cursor) -> None:
    response = client.get("/api/tasks", params={"cursor": cursor}, headers=auth())
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_cursor_of_another_sort_is_422(client, auth, tasks) -> None:
    cursor = client.get("/api/tasks", params={"limit": 1, "sort": "title"}, headers=auth()).json()[
        "next_cursor"
    ]
    response = client.get(
        "/api/tasks", params={"cursor": cursor, "sort": "priority"}, headers=auth()
    )
    assert response.status_code == 422
    assert "another sort" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 201}, {"sort": "colour"}, {"status": "maybe"}, {"priority": "meh"}],
)
def test_bad_list_parameters_are_422(client, auth, params) -> None:
    assert client.get("/api/tasks", params=params, headers=auth()).status_code == 422


def test_default_page_is_50(client, auth) -> None:
    for i in range(55):
        client.post("/api/tasks", json=task_body(title=f"t{i}"), headers=auth())
    page = client.get("/api/tasks", headers=auth()).json()
    assert len(page["items"]) == 50 and page["next_cursor"]
