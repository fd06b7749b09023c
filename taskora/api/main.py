"""The routers of each role. Resource routers declare their full ``/api/...`` prefix, so the
route templates in metrics and logs are the paths clients call."""

from __future__ import annotations

from fastapi import APIRouter

from taskora.api.routes import audit, cron, dapr, events, notifications, system, tags, tasks, users
from taskora.settings import Settings

__all__ = ["routers_for"]

api_router = APIRouter()
for _resource in (tasks, tags, events, notifications, users, audit):
    api_router.include_router(_resource.router)


def routers_for(settings: Settings) -> list[APIRouter]:
    """What this process serves: every role answers health, readiness, metrics and Dapr's
    subscription query; the API, event delivery and cron jobs belong to their roles."""
    routers = [system.router, dapr.subscribe_router]
    if settings.runs("api"):
        routers.append(api_router)
    if settings.runs("consumers"):
        routers.append(dapr.router)
    if settings.runs("scheduler"):
        routers.append(cron.router)
    return routers
