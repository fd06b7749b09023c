"""What the Dapr sidecar calls: subscriptions, event delivery and cron bindings.

These routes carry no user token. When ``APP_API_TOKEN`` is set (Dapr's app API token), every
call must bring it in the ``dapr-api-token`` header, as the sidecar does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from taskora.api.deps import DatabaseDep, SettingsDep
from taskora.db import Database, utcnow
from taskora.events.consumers import consumers_of
from taskora.events.dapr import subscriptions
from taskora.events.delivery import Consumer, Outcome, deliver, record_dead_letter
from taskora.events.envelope import TOPICS, CloudEvent
from taskora.events.scheduler import JOBS, housekeeping, reminder_check

__all__ = ["router"]


async def _sidecar_only(
    settings: SettingsDep, token: Annotated[str | None, Header(alias="dapr-api-token")] = None
) -> None:
    if settings.app_api_token and token != settings.app_api_token:
        raise HTTPException(401, detail="This route answers the Dapr sidecar only")


router = APIRouter(
    tags=["dapr"],
    dependencies=[Depends(_sidecar_only)],
    responses={401: {"description": "APP_API_TOKEN is set and the call did not bring it"}},
)
NO_SUCH: dict[int | str, dict[str, Any]] = {404: {"description": "No such topic or job"}}


class DaprStatus(BaseModel):
    status: Literal["SUCCESS", "RETRY", "DROP"]


class CronResult(BaseModel):
    job: str
    done: int


@router.get("/dapr/subscribe")
async def dapr_subscribe(settings: SettingsDep) -> list[dict[str, object]]:
    """The topics, routes and dead-letter topics this app subscribes to."""
    return subscriptions(settings.dapr_pubsub) if settings.bus == "dapr" else []


def _apply(db: Database, consumers: list[Consumer], topic: str, body: bytes) -> Outcome:
    now = utcnow()
    try:
        event = CloudEvent.model_validate_json(body)
    except ValidationError as exc:
        record_dead_letter(
            db,
            consumer="dapr",
            topic=topic,
            event_id=None,
            reason=f"malformed event: {exc}",
            payload=body.decode("utf-8", "replace"),
            now=now,
        )
        return Outcome.DROP
    outcomes = [deliver(db, consumer, event, topic, now) for consumer in consumers]
    if Outcome.RETRY in outcomes:
        return Outcome.RETRY
    if outcomes and all(o is Outcome.DROP for o in outcomes):
        return Outcome.DROP
    return Outcome.SUCCESS


@router.post("/dapr/events/{topic}", response_model=DaprStatus, responses=NO_SUCH)
async def dapr_event(
    topic: str, request: Request, db: DatabaseDep, settings: SettingsDep
) -> DaprStatus:
    """Apply one delivered event; the answer tells the sidecar to retry, drop or move on."""
    if settings.bus != "dapr" or topic not in TOPICS:
        raise HTTPException(404, detail="No subscription for this topic")
    body = await request.body()
    try:
        consumers = consumers_of(topic, request.app.state.runtime.consumers)
        outcome = await run_in_threadpool(_apply, db, consumers, topic, body)
    except Exception:
        outcome = Outcome.RETRY  # the dead letter could not be recorded: never drop unrecorded
    return DaprStatus(status=outcome.value)


@router.options("/cron/{job}", include_in_schema=False)
async def cron_probe(job: str) -> Response:
    """Dapr asks with OPTIONS whether the app listens to a binding."""
    return Response(status_code=200 if job in JOBS else 404)


@router.post("/cron/{job}", response_model=CronResult, responses=NO_SUCH)
def cron(job: str, db: DatabaseDep, settings: SettingsDep) -> CronResult:
    """Run a scheduled job now (what a Dapr bindings.cron component calls)."""
    if job == "reminder-check":
        late_by = settings.failpoints.late_reminders
        return CronResult(job=job, done=reminder_check(db, late_by=late_by))
    if job == "housekeeping":
        housekeeping(
            db,
            event_retention=timedelta(hours=settings.event_retention_hours),
            idempotency_ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
        )
        return CronResult(job=job, done=1)
    raise HTTPException(404, detail=f"No job {job!r}: one of {', '.join(JOBS)}")
