"""The bare app (the benchmarks' ceiling) stands alone and answers the shape taskora answers."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.testclient import TestClient

from loadtests.bare_app import app
from taskora.schemas import TasksPublic

BARE_APP = Path(__file__).resolve().parents[2] / "loadtests" / "bare_app.py"


def test_the_bare_app_imports_nothing_of_taskora_or_the_harness() -> None:
    tree = ast.parse(BARE_APP.read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("taskora", "harness")}


def test_the_bare_app_list_is_a_valid_taskora_page() -> None:
    with TestClient(app) as client:
        page = client.get("/api/tasks").json()
    parsed = TasksPublic.model_validate(page)
    assert len(parsed.items) == 20
    assert parsed.model_dump(mode="json") == page  # no field more, none missing
