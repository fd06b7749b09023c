"""The Dapr SDK's client to this process's sidecar, as taskora uses it: gRPC on 127.0.0.1, a
deadline on every call and no retries of the SDK's own (the caller decides what a failure means:
the relay keeps the event and tries again, the start-up stops with one line).

Building a ``DaprClient`` waits for the sidecar first: the SDK asks the sidecar's HTTP health
endpoint (``DAPR_HTTP_PORT`` or ``DAPR_HTTP_ENDPOINT``, which the sidecar injector sets) for up to
``DAPR_HEALTH_TIMEOUT`` seconds (default 60), and raises ``TimeoutError`` when it never answers.
Those variables are the SDK's own and are read by it, not by taskora's settings.
"""

from __future__ import annotations

from typing import Any

import grpc
from dapr.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError

__all__ = ["SIDECAR_ERRORS", "connect", "failure"]

# What the SDK raises when the sidecar did not do what was asked: a gRPC status (DaprGrpcError is
# one), an address it cannot use, or a sidecar that never became ready.
SIDECAR_ERRORS: tuple[type[Exception], ...] = (grpc.RpcError, DaprInternalError, TimeoutError)


class _Deadline(grpc.UnaryUnaryClientInterceptor):
    """Gives every unary call a deadline (the SDK sets none unless DAPR_API_TIMEOUT_SECONDS)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(details._replace(timeout=self.seconds), request)


def connect(port: int, *, deadline: float) -> DaprClient:
    """A client to the sidecar's gRPC API at ``127.0.0.1:port``, once the sidecar is ready."""
    return DaprClient(f"127.0.0.1:{port}", interceptors=[_Deadline(deadline)])


def failure(exc: BaseException) -> str:
    """One line saying why a call to the sidecar failed."""
    if isinstance(exc, grpc.RpcError):
        code, details = exc.code(), exc.details()
        name = code.name if code is not None else "UNKNOWN"
        return f"{name}: {(details or '').splitlines()[0] if details else 'no details'}"
    text = str(exc).splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no details'}"
