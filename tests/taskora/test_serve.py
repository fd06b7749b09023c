"""``taskora serve`` as a real process group: two workers, shared metrics, graceful drain."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.process import Server, running
from tests.waiting import wait_until

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
            sock.sendall(head + body[:5])
            client_port = sock.getsockname()[1]
            wait_until(
                lambda: _read_by_the_server(server.port, client_port),
                10,
                "a worker accepted the connection and read the head",
            )
            assert server.process is not None  # the request is now in flight
            os.killpg(server.process.pid, signal.SIGTERM)
            wait_until(
                lambda: DRAINING in server.log_path.read_text(),
                10,
                "the worker holding the request began its graceful shutdown",
            )
            sock.sendall(body[5:])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
        assert server.process.wait(timeout=30) == 0
        assert _group_gone(server.process.pid, within=10), "a worker outlived the supervisor"
    finally:
        server.kill()


DRAINING = "Waiting for connections to close"  # uvicorn, shutting down with a request open


def _tcp(port: int) -> list[tuple[int, int, int]]:
    """(state, remote port, receive queue) of each IPv4 TCP socket on the local ``port``: the
    receive queue is the unread bytes of a connection, or the unaccepted connections of a
    listener (Linux /proc/net/tcp; states: 1 established, 10 listening)."""
    sockets = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, queues = fields[1], fields[2], fields[3], fields[4]
        if int(local.split(":")[1], 16) == port:
            receive = int(queues.split(":")[1], 16)
            sockets.append((int(state, 16), int(remote.split(":")[1], 16), receive))
    return sockets


def _read_by_the_server(port: int, client_port: int) -> bool:
    """The connection from ``client_port`` was accepted and what it sent has been read."""
    sockets = _tcp(port)
    listening = [queue for state, _, queue in sockets if state == 10]
    accepted = [queue for state, remote, queue in sockets if state == 1 and remote == client_port]
    return listening == [0] and accepted == [0]


def _group_gone(pgid: int, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
