"""A bare FastAPI app with the shape of taskora's task list and nothing behind it: the ceiling
that ``benchmark_load.py`` and ``benchmark_capacity.py`` compare taskora's throughput with.

It stands alone (its own models, the same JSON shape as taskora's ``TasksPublic``), so the
ceiling does not move when taskora's schemas change.

``uvicorn loadtests.bare_app:app`` (from the repository root). ``GET /api/tasks`` answers 20
fixed tasks; ``POST /api/tasks`` answers 201 with a new id (so the load stage can seed).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel


class TaskPublic(BaseModel):
    id: int
    title: str
    description: str
    priority: Literal["low", "medium", "high", "urgent"]
    status: Literal["open", "done"]
    tags: list[str]
    due_at: datetime | None
    remind_at: datetime | None
    recurrence: str | None
    timezone: str | None
    series_id: int | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class TasksPublic(BaseModel):
    items: list[TaskPublic]
    next_cursor: str | None


app = FastAPI(title="bare")
_NOW = datetime(2026, 1, 1, tzinfo=UTC)
_ids = itertools.count(1)
PAGE = TasksPublic(
    items=[
        TaskPublic(
            id=n,
            title=f"task {n}",
            description="",
            priority="medium",
            status="open",
            tags=["work"],
            due_at=_NOW,
            remind_at=None,
            recurrence=None,
            timezone=None,
            series_id=None,
            created_at=_NOW,
            updated_at=_NOW,
            completed_at=None,
        )
        for n in range(1, 21)
    ],
    next_cursor=None,
)


@app.get("/api/tasks", response_model=TasksPublic)
async def list_tasks() -> TasksPublic:
    return PAGE


@app.post("/api/tasks", status_code=201)
async def create_task() -> dict[str, int]:
    return {"id": next(_ids)}


@app.get("/ready")
async def ready() -> dict[str, str]:
    return {"status": "ready"}
