"""The API router: includes the resource routers (each declares its full ``/api/...`` prefix,
so the route templates in metrics and logs are the paths clients call)."""

from __future__ import annotations

from fastapi import APIRouter

from taskora.api.routes import tags, tasks

api_router = APIRouter()
api_router.include_router(tasks.router)
api_router.include_router(tags.router)
