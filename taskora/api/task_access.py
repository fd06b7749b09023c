"""The two task operations the self-test's faults replace: creating a task (a lost write) and
reading one by id (a forgotten owner check). Routes take them as dependencies; the app factory
overrides those with the faulty versions in ``taskora.api.faults`` only when a failpoint asks,
so the handlers and the domain carry no fault branch."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Response
from sqlalchemy import Connection
from sqlmodel import Session

from taskora.api.idempotent import run_idempotent
from taskora.api.responses import json_response
from taskora.db import Database, utcnow
from taskora.domain import task_insert, tasks
from taskora.schemas import TaskCreate, TaskPublic

__all__ = [
    "TASKS_PATH",
    "TaskCreator",
    "TaskCreatorDep",
    "TaskReader",
    "TaskReaderDep",
    "create_task",
    "get_task_creator",
    "get_task_reader",
]

TASKS_PATH = "/api/tasks"


class TaskCreator(Protocol):
    async def __call__(
        self, *, db: Database, user_id: str, data: TaskCreate, key: str | None
    ) -> Response: ...


class TaskReader(Protocol):
    def __call__(self, *, connection: Connection, user_id: str, task_id: int) -> TaskPublic: ...


async def create_task(*, db: Database, user_id: str, data: TaskCreate, key: str | None) -> Response:
    """Create a task, once per Idempotency-Key when one is given; the 201 response."""

    def create(session: Session) -> TaskPublic:
        return tasks.create_task(session=session, user_id=user_id, data=data, now=utcnow())

    if key is None:
        created: TaskPublic | None = None
        if not db.is_sqlite:  # one statement, unless it needs a new tag
            created = await db.run_write_statement(
                lambda connection: task_insert.insert_task(
                    connection=connection, user_id=user_id, data=data, now=utcnow()
                )
            )
        if created is None:
            created = await db.run_write(create)
        return json_response(created, status_code=201)
    return await run_idempotent(
        db=db,
        user_id=user_id,
        key=key,
        method="POST",
        path=TASKS_PATH,
        request_body=data.model_dump_json(),
        status_code=201,
        work=create,
    )


async def get_task_creator() -> TaskCreator:
    return create_task


async def get_task_reader() -> TaskReader:
    return tasks.get_task


TaskCreatorDep = Annotated[TaskCreator, Depends(get_task_creator)]
TaskReaderDep = Annotated[TaskReader, Depends(get_task_reader)]
