"""The bare app (the benchmarks' ceiling) answers the shape taskora answers. That it stands
alone (imports no taskora) is checked with the other boundaries: tests/harness/test_layering.py."""

from __future__ import annotations

from fastapi.testclient import TestClient

from loadtests.bare_app import app
from taskora.schemas import TasksPublic


def test_the_bare_app_list_is_a_valid_taskora_page() -> None:
    with TestClient(app) as client:
        page = client.get("/api/tasks").json()
    parsed = TasksPublic.model_validate(page)
    assert len(parsed.items) == 20
    assert parsed.model_dump(mode="json") == page  # no field more, none missing
