"""``query_model`` against what it replaces: FastAPI's ``Annotated[Model, Query()]`` must have
documented the same parameters and answered every query string the same way."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.testclient import TestClient

from taskora.api.query_model import query_model
from taskora.schemas import TaskQuery

parse, docs = query_model(TaskQuery)


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/fastapi")
    async def by_fastapi(query: Annotated[TaskQuery, Query()]) -> dict[str, object]:
        return query.model_dump(mode="json")

    @app.get("/ours", openapi_extra=docs)
    async def by_query_model(query: Annotated[TaskQuery, Depends(parse)]) -> dict[str, object]:
        return query.model_dump(mode="json")

    return app


QUERIES = [
    "", "status=open&sort=due_at&limit=5", "priority=low&priority=urgent&tag=a&tag=b.c",
    "limit=0", "limit=abc", "limit=1&limit=500", "limit=", "status=bad", "status=open&status=done",
    "tag=bad!", "tag=", "tag=" + "&tag=".join(["a"] * 21), "priority=x&priority=low",
    "due_before=notadate", "due_after=2026-01-01T00:00:00Z", "overdue=maybe", "overdue=true",
    "q=a%00b", "q=" + "x" * 201, "sort=zzz", "cursor=" + "c" * 600, "unknown=1&limit=2",
]  # fmt: skip


@pytest.mark.parametrize("query", QUERIES)
def test_every_query_string_gets_the_answer_fastapi_gave(query: str) -> None:
    with TestClient(_app()) as client:
        theirs, ours = client.get(f"/fastapi?{query}"), client.get(f"/ours?{query}")
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json())


def test_the_parameters_are_documented_as_fastapi_documented_them() -> None:
    paths = _app().openapi()["paths"]
    assert paths["/ours"]["get"]["parameters"] == paths["/fastapi"]["get"]["parameters"]
    assert paths["/ours"]["get"]["responses"]["422"] == paths["/fastapi"]["get"]["responses"]["422"]
