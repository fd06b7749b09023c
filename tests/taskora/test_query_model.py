"""``query_model`` against what it replaces: FastAPI's ``Annotated[Model, Query()]`` must have
documented the same parameters and answered every query string the same way, for each query
model the API takes.

No ``from __future__ import annotations`` here: the endpoints' annotations name a local model,
which FastAPI could not resolve from a string."""

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel

from taskora.api.query_model import query_model
from taskora.schemas import AuditQuery, NotificationQuery, TaskQuery

PAGES = [
    "",
    "limit=0",
    "limit=abc",
    "limit=1&limit=500",
    "limit=",
    "cursor=" + "c" * 600,
    "cursor=12",
    "cursor=-1",
    "unknown=1&limit=2",
]
QUERIES: dict[type[BaseModel], list[str]] = {
    TaskQuery: [
        *PAGES,
        "status=open&sort=due_at&limit=5",
        "priority=low&priority=urgent&tag=a&tag=b.c",
        "status=bad",
        "status=open&status=done",
        "tag=bad!",
        "tag=",
        "tag=" + "&tag=".join(["a"] * 21),
        "priority=x&priority=low",
        "due_before=notadate",
        "due_after=2026-01-01T00:00:00Z",
        "overdue=maybe",
        "overdue=true",
        "q=a%00b",
        "q=" + "x" * 201,
        "sort=zzz",
    ],
    AuditQuery: [
        *PAGES,
        "type=task.created&type=task.deleted",
        "type=nope",
        "task_id=0",
        "task_id=7",
        "since=2026-01-01T00:00:00+02:00",
        "since=yesterday",
    ],
    NotificationQuery: [*PAGES, "unread=true", "unread=1", "unread=perhaps"],
}


def _app(model: type[BaseModel]) -> FastAPI:
    parse, docs = query_model(model)
    app = FastAPI()

    @app.get("/fastapi")
    async def by_fastapi(query: Annotated[model, Query()]) -> dict[str, object]:  # type: ignore[valid-type]
        return query.model_dump(mode="json")  # type: ignore[attr-defined,no-any-return]

    @app.get("/ours", openapi_extra=docs)
    async def by_query_model(query: Annotated[BaseModel, Depends(parse)]) -> dict[str, object]:
        return query.model_dump(mode="json")

    return app


@pytest.mark.parametrize(
    ("model", "query"),
    [(m, q) for m, qs in QUERIES.items() for q in qs],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_every_query_string_gets_the_answer_fastapi_gave(
    model: type[BaseModel], query: str
) -> None:
    with TestClient(_app(model)) as client:
        theirs, ours = client.get(f"/fastapi?{query}"), client.get(f"/ours?{query}")
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json())


@pytest.mark.parametrize("model", list(QUERIES), ids=lambda m: m.__name__)
def test_the_parameters_are_documented_as_fastapi_documented_them(model: type[BaseModel]) -> None:
    paths = _app(model).openapi()["paths"]
    ours, theirs = paths["/ours"]["get"], paths["/fastapi"]["get"]
    assert ours["parameters"] == theirs["parameters"]
    assert ours["responses"]["422"] == theirs["responses"]["422"]
