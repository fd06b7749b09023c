"""Liveness, readiness and metrics: what orchestrators and Prometheus call."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from taskora import metrics
from taskora.api.deps import DatabaseDep, HeadRevisionDep
from taskora.migrate import current_revision

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str]


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the process answers."""
    return Health()


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(db: DatabaseDep, head: HeadRevisionDep) -> Readiness | JSONResponse:
    """Readiness: the database answers and its schema is at the latest migration."""
    checks = {"database": "ok", "migrations": "ok"}
    try:  # the revision's read proves the database answers
        revision = await db.run_statement(current_revision)
        if revision != head:
            checks["migrations"] = f"at {revision}, expected {head}: run taskora migrate"
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    if all(value == "ok" for value in checks.values()):
        return Readiness(status="ready", checks=checks)
    body = Readiness(status="not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def prometheus_metrics() -> Response:
    """Prometheus metrics of every worker process (read from files: off the event loop)."""
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)
