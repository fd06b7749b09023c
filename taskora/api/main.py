"""The API router: includes the resource routers (each declares its full ``/api/...`` prefix,
so the route templates in metrics and logs are the paths clients call)."""

from __future__ import annotations

from fastapi import APIRouter

from taskora.api.routes import audit, dapr, events, notifications, tags, tasks, users

api_router = APIRouter()
api_router.include_router(tasks.router)
api_router.include_router(tags.router)
api_router.include_router(events.router)
api_router.include_router(notifications.router)
api_router.include_router(users.router)
api_router.include_router(audit.router)
api_router.include_router(dapr.router)
