"""What the Dapr sidecar calls for pub/sub: the subscriptions, and event delivery.

These routes carry no user token. When ``APP_API_TOKEN`` is set (Dapr's app API token), every
call must bring it in the ``dapr-api-token`` header, as the sidecar does. Every role answers
``/dapr/subscribe`` (with subscriptions only where it consumes: the consumers role, or ``all``);
the delivery route belongs to the consumers.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ValidationError

from taskora.api.deps import SIDECAR_ONLY, ConsumersDep, DatabaseDep, SettingsDep, sidecar_only
from taskora.db import Database, utcnow
from taskora.domain.consumers import consumers_of
from taskora.events.dapr import subscriptions
from taskora.events.delivery import Consumer, Outcome, deliver, record_dead_letter
from taskora.events.envelope import TOPICS, CloudEvent

__all__ = ["router", "subscribe_router"]

log = logging.getLogger("taskora.dapr")

subscribe_router = APIRouter(
    tags=["dapr"], dependencies=[Depends(sidecar_only)], responses=SIDECAR_ONLY
)
router = APIRouter(tags=["dapr"], dependencies=[Depends(sidecar_only)], responses=SIDECAR_ONLY)
NO_SUCH: dict[int | str, dict[str, Any]] = {404: {"description": "No such topic"}}


class DaprStatus(BaseModel):
    status: Literal["SUCCESS", "RETRY", "DROP"]


@subscribe_router.get("/dapr/subscribe")
async def dapr_subscribe(settings: SettingsDep) -> list[dict[str, object]]:
    """The topics, routes and dead-letter topics this app subscribes to."""
    consumes = settings.bus == "dapr" and settings.runs("consumers")
    return subscriptions(settings.dapr_pubsub) if consumes else []


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
    topic: str, request: Request, db: DatabaseDep, settings: SettingsDep, consumers: ConsumersDep
) -> DaprStatus:
    """Apply one delivered event; the answer tells the sidecar to retry, drop or move on."""
    if settings.bus != "dapr" or topic not in TOPICS:
        raise HTTPException(404, detail="No subscription for this topic")
    body = await request.body()
    try:
        outcome = await db.run(_apply, db, consumers_of(topic, consumers), topic, body)
    except Exception:  # the dead letter could not be recorded: never drop unrecorded
        log.exception("delivery of an event on %s failed; the sidecar retries it", topic)
        outcome = Outcome.RETRY
    return DaprStatus(status=outcome.value)
