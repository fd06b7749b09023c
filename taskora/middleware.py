"""ASGI middleware: request ids, the request-body limit, access log and metrics.

Plain ASGI (not ``BaseHTTPMiddleware``) so they add microseconds, not a task per request. The
body limit lives here too, as one counting ``receive``: reading more than the limit (or a
``Content-Length`` over it) raises a 413 that FastAPI answers as ``{"detail": ...}``.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskora.logs import request_id_var
from taskora.metrics import REQUEST_SECONDS, REQUESTS

__all__ = ["RequestContextMiddleware"]

access_log = logging.getLogger("taskora.access")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


DEFAULT_MAX_BODY_BYTES = 64 * 1024
_PROCESS = uuid.uuid4().hex[:12]  # unique per process; a counter makes ids unique within it
_COUNTER = itertools.count()


def _new_id() -> str:
    return f"{_PROCESS}{next(_COUNTER):020x}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _limited(receive: Receive, scope: Scope, limit: int) -> Receive:
    """``receive`` that raises 413 once the body is, or is announced to be, over ``limit``."""
    declared = _header(scope, b"content-length")
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, detail="Content Too Large")
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, detail="Content Too Large")
        return message

    return receive_within_limit


def _route_label(scope: Scope) -> str:
    """The route template a request matched; one label for all that matched none (an unknown
    path, or an answer before routing such as a failure in a middleware), kept under /api/ for
    API paths so that the API's error-rate and latency alerts count them."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", "<unmatched>"))
    return "/api/<unmatched>" if scope["path"].startswith("/api/") else "<unmatched>"


class RequestContextMiddleware:
    """Gives each request an id (echoing a safe ``X-Request-ID``), limits its body, logs it,
    and counts it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log_enabled: bool = True,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else _new_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        receive = _limited(receive, scope, self.max_body_bytes)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = _route_label(scope)
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            REQUEST_SECONDS.labels(scope["method"], template).observe(elapsed)
            if self.access_log_enabled:
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "request_id": request_id,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)
