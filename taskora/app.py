"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool

from taskora import __version__
from taskora.api.faults import FaultMiddleware, task_overrides
from taskora.api.main import routers_for
from taskora.db import Database
from taskora.errors import DomainError, Invalid
from taskora.logs import configure_logging
from taskora.metrics import watch_event_loop
from taskora.middleware import RequestContextMiddleware
from taskora.migrate import head_revision, upgrade
from taskora.runtime import Runtime
from taskora.secret_store import with_secrets
from taskora.settings import Settings

__all__ = ["create_app", "serve_app"]

log = logging.getLogger("taskora")


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if isinstance(exc, Invalid):
        # The shape FastAPI uses for its own 422s, so clients parse one format.
        detail = [{"loc": list(exc.loc), "msg": exc.detail, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=exc.status_code)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", type(exc).__name__)
    return JSONResponse(
        {"detail": "The database is busy or unreachable: retry shortly"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check_safe()
    if settings.failpoints:
        log.warning(
            "failpoints active, faults are planted: TASKORA_FAILPOINTS=%s", settings.failpoints
        )
    database = Database(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.pool_size,
        threads=settings.threads,
        read_threads=settings.read_threads,
    )
    runtime = Runtime(settings, database)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Handlers hand database work to the database's own threads (``Database.run``); the few
        # plain-function handlers left (metrics) run on anyio's, bounded the same.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        if settings.migrate_on_start:
            await run_in_threadpool(upgrade, settings.database_url)
        if settings.background:
            runtime.start()
        lag = asyncio.create_task(watch_event_loop())
        try:
            yield
        finally:
            lag.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lag
            # Joining the background threads and closing connections wait: not on the loop.
            await run_in_threadpool(runtime.close)
            await run_in_threadpool(database.dispose)

    app = FastAPI(
        title="Taskora",
        version=__version__,
        summary="Tasks with priorities, tags, due dates, recurrence and reminders",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.runtime = runtime
    app.state.head_revision = head_revision()
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)
    for router in routers_for(settings):
        app.include_router(router)
    faults = settings.failpoints
    if faults.error_rate or faults.slow_requests or faults.busy_above:
        # Inside the request context: a planted 500 is counted, logged and timed like a real one.
        app.add_middleware(FaultMiddleware, failpoints=faults)
    app.dependency_overrides.update(task_overrides(faults))
    app.add_middleware(
        RequestContextMiddleware,
        access_log_enabled=settings.access_log,
        max_body_bytes=settings.max_body_bytes,
    )
    return app


def serve_app() -> FastAPI:
    """The factory uvicorn's workers call: JSON logs, then the app."""
    settings = Settings()
    configure_logging(settings.log_level)
    # Each worker reads the secret store itself: the secrets never pass through the environment.
    app = create_app(with_secrets(settings))
    # Modules, the app and its compiled schemas live as long as the worker: keep them out of
    # the collector's full passes, each of which would otherwise stall the event loop.
    gc.freeze()
    return app
