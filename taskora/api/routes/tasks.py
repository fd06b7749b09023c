"""Tasks: the user's own; another user's task is 404, never 403.

Handlers hand their database work to the request threads (``Database.run_*``), so a database
wait never holds the event loop. Each returns its JSON, serialised once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from taskora.api.deps import CurrentUser, DatabaseDep, IdempotencyKey
from taskora.api.query_model import query_model
from taskora.api.responses import json_response
from taskora.api.strict_json import StrictJSONRoute
from taskora.api.task_access import TASKS_PATH, TaskCreatorDep, TaskReaderDep
from taskora.db import Database, utcnow
from taskora.domain import tasks
from taskora.schemas import TaskCreate, TaskPublic, TaskQuery, TasksPublic, TaskUpdate

router = APIRouter(prefix=TASKS_PATH, tags=["tasks"], route_class=StrictJSONRoute)

TaskId = Annotated[int, Path(ge=1, le=2**63 - 1)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such task for this user"}}


@router.post("", status_code=201, response_model=TaskPublic)
async def create_task(
    body: TaskCreate,
    user: CurrentUser,
    db: DatabaseDep,
    create: TaskCreatorDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create a task; with an Idempotency-Key a retry returns the first response."""
    return await create(db=db, user_id=user, data=body, key=idempotency_key)


_task_query, _TASK_QUERY_DOCS = query_model(TaskQuery)


@router.get("", response_model=TasksPublic, openapi_extra=_TASK_QUERY_DOCS)
async def list_tasks(
    query: Annotated[TaskQuery, Depends(_task_query)], user: CurrentUser, db: DatabaseDep
) -> Response:
    """List the user's tasks: filter, search, sort, and page with next_cursor."""
    page = await db.run_statement(
        lambda connection: tasks.list_tasks(
            connection=connection, user_id=user, query=query, now=utcnow()
        )
    )
    return json_response(page)


@router.get("/{task_id}", response_model=TaskPublic, responses=NOT_FOUND)
async def get_task(
    task_id: TaskId, user: CurrentUser, db: DatabaseDep, read: TaskReaderDep
) -> Response:
    """Read one task."""
    task = await db.run_statement(
        lambda connection: read(connection=connection, user_id=user, task_id=task_id)
    )
    return json_response(task)


@router.patch("/{task_id}", response_model=TaskPublic, responses=NOT_FOUND)
async def update_task(
    task_id: TaskId, body: TaskUpdate, user: CurrentUser, db: DatabaseDep
) -> Response:
    """Change some fields of a task; null clears due_at, remind_at or recurrence."""
    result = await db.run_write(
        lambda session: tasks.update_task(
            session=session, user_id=user, task_id=task_id, changes=body, now=utcnow()
        )
    )
    return json_response(result)


@router.delete("/{task_id}", status_code=204, responses=NOT_FOUND)
async def delete_task(task_id: TaskId, user: CurrentUser, db: DatabaseDep) -> Response:
    """Delete a task."""
    await db.run_write(
        lambda session: tasks.delete_task(
            session=session, user_id=user, task_id=task_id, now=utcnow()
        )
    )
    return Response(status_code=204)


def _change(
    db: Database, change: Callable[..., TaskPublic], user: str, task_id: int
) -> Awaitable[TaskPublic]:
    """A change of one task's state, as the write a handler awaits."""
    return db.run_write(
        lambda session: change(session=session, user_id=user, task_id=task_id, now=utcnow())
    )


@router.post("/{task_id}/complete", response_model=TaskPublic, responses=NOT_FOUND)
async def complete_task(task_id: TaskId, user: CurrentUser, db: DatabaseDep) -> Response:
    """Mark a task done (completing a done task changes nothing)."""
    return json_response(await _change(db, tasks.complete_task, user, task_id))


@router.post("/{task_id}/reopen", response_model=TaskPublic, responses=NOT_FOUND)
async def reopen_task(task_id: TaskId, user: CurrentUser, db: DatabaseDep) -> Response:
    """Mark a task open again (reopening an open task changes nothing)."""
    return json_response(await _change(db, tasks.reopen_task, user, task_id))


@router.post("/{task_id}/recurrence/cancel", response_model=TaskPublic, responses=NOT_FOUND)
async def cancel_recurrence(task_id: TaskId, user: CurrentUser, db: DatabaseDep) -> Response:
    """Stop a recurring task's future occurrences (the task itself stays)."""
    return json_response(await _change(db, tasks.cancel_recurrence, user, task_id))
