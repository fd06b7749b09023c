"""The SSE faults that only some of the service shows: ``slow_worker`` (one worker of several)
and ``busy_above`` (only while the worker is busy)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from starlette.types import Receive, Scope, Send

from taskora.api.faults import FaultMiddleware
from taskora.failpoints import Failpoints, Traffic


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _request(failpoints: Failpoints, path: str, client: tuple[str, int]) -> None:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: object) -> None:
        pass

    scope = {"type": "http", "path": path, "client": client, "method": "GET", "headers": []}
    asyncio.run(FaultMiddleware(_ok, failpoints=failpoints)(scope, receive, send))


def test_a_busy_only_delay_holds_events_while_more_connections_ask_than_its_bound() -> None:
    clock = Clock()
    failpoints = Failpoints(sse_delay=3, busy_above=2, traffic=Traffic(clock))
    for port in (1, 2):
        _request(failpoints, "/api/tasks", ("10.0.0.1", port))
    _request(failpoints, "/api/tasks", ("10.0.0.1", 2))  # the same connection again
    for port in (3, 4, 5):
        _request(failpoints, "/health", ("10.0.0.1", port))  # probes do not make it busy
        _request(failpoints, "/api/events/stream", ("10.0.0.3", port))  # nor subscriptions
    assert failpoints.stream_delay() == 0  # two connections: not more than the bound
    _request(failpoints, "/api/tasks", ("10.0.0.2", 1))
    assert failpoints.stream_delay() == 3  # three: busy
    clock.now += Traffic.WINDOW_S + 0.1
    _request(failpoints, "/api/tasks", ("10.0.0.2", 1))
    assert failpoints.stream_delay() == 0  # the others went quiet


def test_without_a_bound_the_delay_always_holds() -> None:
    assert Failpoints.parse("sse_delay=3").stream_delay() == 3
    assert Failpoints.parse("busy_above=5").stream_delay() == 0
    assert not Failpoints.parse("busy_above=5").holds_streams


CLAIM = """
import sys
from taskora.failpoints import Failpoints
print(Failpoints.parse("slow_worker=2").stream_delay(), flush=True)
sys.stdin.read()  # hold the claim until the test has heard from every sibling
"""


def test_exactly_one_of_several_sibling_workers_is_the_slow_one() -> None:
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    siblings = [subprocess.Popen([sys.executable, "-c", CLAIM], **pipes) for _ in range(3)]
    try:
        delays = [float(worker.stdout.readline()) for worker in siblings]  # type: ignore[union-attr]
    finally:
        for worker in siblings:
            worker.communicate(timeout=30)
    assert sorted(delays) == [0.0, 0.0, 2.0]
    again = subprocess.run(
        [sys.executable, "-c", CLAIM],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert float(again.stdout) == 2.0  # the claim went with its process: a new worker takes it
