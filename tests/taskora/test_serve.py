"""``taskora serve`` as a real process group: two workers, shared metrics, graceful drain."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from taskora.auth import issue_token
from taskora.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SECRET = "serve-test-secret-that-is-long-enough"
POST_COUNTER = 'taskora_http_requests_total{method="POST",route="/api/tasks",status="201"}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    env = {
        **os.environ,
        "TASKORA_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "TASKORA_JWT_SECRET": SECRET,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taskora",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--drain-seconds",
            "20",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        log.close()
        pytest.fail(
            "taskora serve did not become ready: " + (tmp_path / "serve.log").read_text()[-2000:]
        )
    yield process, base
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    log.close()


def _token() -> str:
    return issue_token(Settings(jwt_secret=SECRET), "server-test")


def test_requests_are_served_and_counted_across_workers(server) -> None:
    _, base = server
    headers = {"Authorization": f"Bearer {_token()}"}
    with httpx.Client(base_url=base, headers=headers) as client:
        created = [client.post("/api/tasks", json={"title": f"t{i}"}) for i in range(20)]
        assert {r.status_code for r in created} == {201}
        assert len(client.get("/api/tasks").json()["items"]) == 20
        metrics = client.get("/metrics").text
    posts = [m for m in metrics.splitlines() if m.startswith(POST_COUNTER)]
    assert [float(m.rsplit(" ", 1)[1]) for m in posts] == [20.0]


def test_sigterm_drains_the_request_in_flight_then_exits_cleanly(server) -> None:
    process, base = server
    port = int(base.rsplit(":", 1)[1])
    body = json.dumps({"title": "sent during shutdown"}).encode()
    head = (
        "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Authorization: Bearer {_token()}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + body[:5])  # the request is now in flight
        time.sleep(0.5)
        os.killpg(process.pid, signal.SIGTERM)
        time.sleep(1.0)
        sock.sendall(body[5:])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    assert process.wait(timeout=30) == 0
    assert _group_gone(process.pid, within=10), "a worker outlived the supervisor"


def _group_gone(pgid: int, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
