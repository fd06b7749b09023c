"""Scheduled jobs behind ``/cron/<job>``: what a Dapr ``bindings.cron`` component calls (the
sidecar first asks with ``OPTIONS`` whether the app listens). The scheduler role serves them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel

from taskora.api.deps import SIDECAR_ONLY, DatabaseDep, ReminderClockDep, SettingsDep, sidecar_only
from taskora.db import Database
from taskora.domain.jobs import JOBS, housekeeping, reminder_check
from taskora.settings import Settings

__all__ = ["router"]

router = APIRouter(tags=["cron"], dependencies=[Depends(sidecar_only)], responses=SIDECAR_ONLY)
NO_SUCH: dict[int | str, dict[str, Any]] = {404: {"description": "No such job"}}


class CronResult(BaseModel):
    job: str
    done: int


@router.options("/cron/{job}", include_in_schema=False)
async def cron_probe(job: str) -> Response:
    """Dapr asks with OPTIONS whether the app listens to a binding."""
    return Response(status_code=200 if job in JOBS else 404)


@router.post("/cron/{job}", response_model=CronResult, responses=NO_SUCH)
async def cron(
    job: str, db: DatabaseDep, settings: SettingsDep, clock: ReminderClockDep
) -> CronResult:
    """Run a scheduled job now (what a Dapr bindings.cron component calls)."""
    if job not in JOBS:
        raise HTTPException(404, detail=f"No job {job!r}: one of {', '.join(JOBS)}")
    return await db.run(_run_job, job, db, settings, clock)


def _run_job(
    job: str, db: Database, settings: Settings, clock: Callable[[], datetime]
) -> CronResult:
    if job == "reminder-check":
        return CronResult(job=job, done=reminder_check(db, now=clock()))
    if job == "housekeeping":
        housekeeping(
            db,
            event_retention=timedelta(hours=settings.event_retention_hours),
            idempotency_ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
        )
        return CronResult(job=job, done=1)
    raise AssertionError(f"a job in JOBS without a runner: {job}")
