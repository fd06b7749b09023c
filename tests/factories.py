"""Plain functions that build test inputs."""

from __future__ import annotations

from typing import Any


def task_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "Write the report", "priority": "medium"}
    body.update(overrides)
    return body
