"""A fake Dapr sidecar for the contract tests, built from the Dapr SDK's own generated gRPC
servicer (``dapr.proto.runtime.v1.dapr_pb2_grpc.DaprServicer``) and served by ``grpc.server`` on
127.0.0.1: it records every PublishEvent, BulkPublishEvent (and its Alpha1 name) and GetSecret
request as the SDK's client sent it, and answers with a chosen gRPC status.

Beside it, the one HTTP endpoint the SDK still calls: the sidecar's health check, which
``DaprClient`` waits on before it connects (``DAPR_HTTP_ENDPOINT`` points the SDK at it).
``stop`` ends the gRPC server and its threads and the HTTP stand-in: nothing outlives a test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from dapr.proto.runtime.v1 import dapr_pb2_grpc, pubsub_pb2, secret_pb2
from google.protobuf import empty_pb2

from tests.servers import ServingThread

__all__ = ["FakeSidecar", "Failure", "fake_sidecar"]

HEALTH_PATH = "/v1.0/healthz/outbound"


@dataclass
class Failure:
    """What the fake answers instead of success: after letting ``after`` calls through, to the
    next ``times`` calls (None: to all)."""

    code: grpc.StatusCode
    details: str
    times: int | None = None
    after: int = 0


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(204 if self.path == HEALTH_PATH else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class FakeSidecar(dapr_pb2_grpc.DaprServicer):  # type: ignore[misc]
    """Secrets are ``{store: {secret name: {key: value}}}``; unknown ones answer as Dapr does
    (INVALID_ARGUMENT for a store, an error from the store for a secret)."""

    secrets: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    attempts: list[pubsub_pb2.PublishEventRequest] = field(default_factory=list)
    accepted: list[pubsub_pb2.PublishEventRequest] = field(default_factory=list)
    bulk: list[pubsub_pb2.BulkPublishRequest] = field(default_factory=list)
    secret_requests: list[secret_pb2.GetSecretRequest] = field(default_factory=list)
    failure: Failure | None = None
    holding: bool = False  # PublishEvent waits for ``released`` before it answers
    released: threading.Event = field(default_factory=threading.Event)
    grpc_port: int = 0
    http_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _answer(self, context: grpc.ServicerContext) -> None:
        """Return to answer the call, or end it with the planned failure's status."""
        with self._lock:
            failure = self.failure
            if failure is None:
                return
            if failure.after > 0:
                failure.after -= 1
                return
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self.failure = None
        context.abort(failure.code, failure.details)  # raises

    def PublishEvent(self, request, context):  # noqa: N802
        self.attempts.append(request)
        if self.holding:
            self.released.wait(timeout=30)  # a sidecar that does not answer in time
        self._answer(context)
        self.accepted.append(request)
        return empty_pb2.Empty()

    def BulkPublishEvent(self, request, context):  # noqa: N802
        self.bulk.append(request)
        self._answer(context)
        return pubsub_pb2.BulkPublishResponse()

    BulkPublishEventAlpha1 = BulkPublishEvent

    def GetSecret(self, request, context):  # noqa: N802
        self.secret_requests.append(request)
        self._answer(context)
        store = self.secrets.get(request.store_name)
        if store is None:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"failed finding secret store with key {request.store_name}",
            )
        if request.key not in store:
            context.abort(
                grpc.StatusCode.INTERNAL,
                f"failed getting secret with key {request.key} from secret store "
                f'{request.store_name}: secrets "{request.key}" not found',
            )
        return secret_pb2.GetSecretResponse(data=store[request.key])


@contextmanager
def fake_sidecar(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSidecar]:
    """A running fake sidecar the Dapr SDK in this process talks to (its health endpoint via
    ``DAPR_HTTP_ENDPOINT``; pass ``grpc_port`` to what connects)."""
    sidecar = FakeSidecar()
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fake-sidecar")
    server = grpc.server(pool)
    dapr_pb2_grpc.add_DaprServicer_to_server(sidecar, server)
    sidecar.grpc_port = server.add_insecure_port("127.0.0.1:0")
    health = ServingThread(ThreadingHTTPServer(("127.0.0.1", 0), _Health))
    sidecar.http_url = f"http://127.0.0.1:{health.server.server_address[1]}"
    monkeypatch.setenv("DAPR_HTTP_ENDPOINT", sidecar.http_url)
    server.start()
    health.start()
    try:
        yield sidecar
    finally:
        sidecar.released.set()
        health.stop()
        server.stop(grace=None).wait()
        pool.shutdown(wait=True)
