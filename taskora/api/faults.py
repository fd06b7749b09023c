"""The request faults of the self-test (``error_rate``, ``slow_requests``, and the traffic count
behind ``busy_above``), planted as an ASGI middleware around the app: the app factory adds it
only when one is set, so a healthy service carries no fault branch on its request path."""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from taskora.failpoints import Failpoints

__all__ = ["FaultMiddleware"]

STREAM_PATH = "/api/events/stream"  # a subscription, not traffic (busy_above)


class FaultMiddleware:
    def __init__(self, app: ASGIApp, *, failpoints: Failpoints) -> None:
        self.app = app
        self.failpoints = failpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        faults, path = self.failpoints, scope["path"]
        if faults.busy_above and path.startswith("/api/") and path != STREAM_PATH:
            faults.traffic.saw(scope.get("client"))
        if faults.error_rate and path != "/health" and faults.chance(faults.error_rate):
            failed = JSONResponse({"detail": "failpoint: error_rate"}, status_code=500)
            await failed(scope, receive, send)
            return
        if faults.slow_requests and path.startswith("/api/"):
            await asyncio.sleep(faults.slow_requests / 1000)
        await self.app(scope, receive, send)
