"""``taskora serve`` as a real process group: two workers, shared metrics, graceful drain."""

from __future__ import annotations

import json
import os
import signal
import socket
import time

import httpx
import pytest

from tests.process import Server, running

pytestmark = [pytest.mark.integration, pytest.mark.slow]
POST_COUNTER = 'taskora_http_requests_total{method="POST",route="/api/tasks",status="201"}'


def _sqlite(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'serve.db'}"


def test_requests_are_served_and_counted_across_workers(tmp_path) -> None:
    with running(_sqlite(tmp_path), tmp_path / "serve.log") as server:
        with httpx.Client(base_url=server.base_url, headers=server.headers("a")) as client:
            created = [client.post("/api/tasks", json={"title": f"t{i}"}) for i in range(20)]
            assert {r.status_code for r in created} == {201}
            assert len(client.get("/api/tasks").json()["items"]) == 20
            metrics = client.get("/metrics").text
    posts = [m for m in metrics.splitlines() if m.startswith(POST_COUNTER)]
    assert [float(m.rsplit(" ", 1)[1]) for m in posts] == [20.0]


def test_sigterm_drains_the_request_in_flight_then_exits_cleanly(tmp_path) -> None:
    server = Server(_sqlite(tmp_path), tmp_path / "serve.log")
    server.start()
    try:
        body = json.dumps({"title": "sent during shutdown"}).encode()
        head = (
            "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Authorization: Bearer {server.token('a')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(head + body[:5])  # the request is now in flight
            time.sleep(0.5)
            assert server.process is not None
            os.killpg(server.process.pid, signal.SIGTERM)
            time.sleep(1.0)
            sock.sendall(body[5:])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
        assert server.process.wait(timeout=30) == 0
        assert _group_gone(server.process.pid, within=10), "a worker outlived the supervisor"
    finally:
        server.kill()


def _group_gone(pgid: int, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
