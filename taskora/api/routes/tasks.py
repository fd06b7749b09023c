"""Tasks: the user's own; another user's task is 404, never 403.

Handlers are plain functions: FastAPI runs them on its thread pool, so a database wait never
holds the event loop. Each returns its JSON, serialised once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from taskora.api.deps import CurrentUser, DatabaseDep, IdempotencyKey, SettingsDep
from taskora.api.idempotent import run_idempotent
from taskora.api.query_model import query_model
from taskora.api.responses import json_response
from taskora.api.strict_json import StrictJSONRoute
from taskora.db import utcnow
from taskora.domain import tasks
from taskora.schemas import TaskCreate, TaskPublic, TaskQuery, TasksPublic, TaskUpdate

router = APIRouter(prefix="/api/tasks", tags=["tasks"], route_class=StrictJSONRoute)

TaskId = Annotated[int, Path(ge=1, le=2**63 - 1)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such task for this user"}}


@router.post("", status_code=201, response_model=TaskPublic)
def create_task(
    body: TaskCreate,
    user: CurrentUser,
    db: DatabaseDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create a task; with an Idempotency-Key a retry returns the first response."""
    failpoints = settings.failpoints
    lost = failpoints.lose_writes > 0 and failpoints.chance(failpoints.lose_writes)
    if idempotency_key is None and failpoints.lose_keyless > 0:
        lost = lost or failpoints.chance(failpoints.lose_keyless)
    if idempotency_key is None or lost:  # a lost write keeps no idempotency record either
        with db.write() as session:
            task = tasks.create_task(session=session, user_id=user, data=body, now=utcnow())
            if lost:
                session.rollback()  # failpoint lose_writes: acknowledged, never committed
        return json_response(task, status_code=201)
    return run_idempotent(
        db=db,
        user_id=user,
        key=idempotency_key,
        method="POST",
        path=router.prefix,
        request_body=body.model_dump_json(),
        status_code=201,
        work=lambda session: tasks.create_task(
            session=session, user_id=user, data=body, now=utcnow()
        ),
    )


_task_query, _TASK_QUERY_DOCS = query_model(TaskQuery)


@router.get("", response_model=TasksPublic, openapi_extra=_TASK_QUERY_DOCS)
def list_tasks(
    query: Annotated[TaskQuery, Depends(_task_query)], user: CurrentUser, db: DatabaseDep
) -> Response:
    """List the user's tasks: filter, search, sort, and page with next_cursor."""
    with db.statement() as connection:
        result = tasks.list_tasks(connection=connection, user_id=user, query=query, now=utcnow())
    return json_response(result)


@router.get("/{task_id}", response_model=TaskPublic, responses=NOT_FOUND)
def get_task(
    task_id: TaskId, user: CurrentUser, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """Read one task."""
    any_owner = settings.failpoints.skip_owner_check
    with db.statement() as connection:
        result = tasks.get_task(
            connection=connection, user_id=user, task_id=task_id, any_owner=any_owner
        )
    return json_response(result)


@router.patch("/{task_id}", response_model=TaskPublic, responses=NOT_FOUND)
def update_task(task_id: TaskId, body: TaskUpdate, user: CurrentUser, db: DatabaseDep) -> Response:
    """Change some fields of a task; null clears due_at, remind_at or recurrence."""
    with db.write() as session:
        result = tasks.update_task(
            session=session, user_id=user, task_id=task_id, changes=body, now=utcnow()
        )
    return json_response(result)


@router.delete("/{task_id}", status_code=204, responses=NOT_FOUND)
def delete_task(task_id: TaskId, user: CurrentUser, db: DatabaseDep) -> Response:
    """Delete a task."""
    with db.write() as session:
        tasks.delete_task(session=session, user_id=user, task_id=task_id, now=utcnow())
    return Response(status_code=204)


@router.post("/{task_id}/complete", response_model=TaskPublic, responses=NOT_FOUND)
def complete_task(task_id: TaskId, user: CurrentUser, db: DatabaseDep) -> Response:
    """Mark a task done (completing a done task changes nothing)."""
    with db.write() as session:
        result = tasks.complete_task(session=session, user_id=user, task_id=task_id, now=utcnow())
    return json_response(result)


@router.post("/{task_id}/reopen", response_model=TaskPublic, responses=NOT_FOUND)
def reopen_task(task_id: TaskId, user: CurrentUser, db: DatabaseDep) -> Response:
    """Mark a task open again (reopening an open task changes nothing)."""
    with db.write() as session:
        result = tasks.reopen_task(session=session, user_id=user, task_id=task_id, now=utcnow())
    return json_response(result)


@router.post("/{task_id}/recurrence/cancel", response_model=TaskPublic, responses=NOT_FOUND)
def cancel_recurrence(task_id: TaskId, user: CurrentUser, db: DatabaseDep) -> Response:
    """Stop a recurring task's future occurrences (the task itself stays)."""
    with db.write() as session:
        result = tasks.cancel_recurrence(
            session=session, user_id=user, task_id=task_id, now=utcnow()
        )
    return json_response(result)
