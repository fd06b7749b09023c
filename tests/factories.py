"""Plain functions that build test inputs."""

from __future__ import annotations

from typing import Any


def task_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "Write the report", "priority": "medium"}
    body.update(overrides)
    return body


# Every sort GET /api/tasks accepts (a leading - reverses it)
SORT_KEYS = ("created_at", "due_at", "priority", "title")
SORTS = tuple(f"{sign}{key}" for key in SORT_KEYS for sign in ("", "-"))
