"""The availability prober: a connection broken mid-request is retried once, as clients do for
an idempotent GET; an error answer or a second broken connection is a failed probe. Probes keep
their cadence while answers are slow, and availability is judged in time (outages), not probes."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from harness.probes.availability import (
    AvailabilityProber,
    Probe,
    failures_allowed,
    judge,
    probes_needed,
)
from tests.servers import serving
from tests.waiting import wait_until

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
ERROR = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
ACCEPT_POLL = 0.05  # how often the stand-in looks up from accept() to see whether it may stop


@dataclass
class StandIn:
    url: str
    connections: int = 0  # how many connections the prober opened
    failure: BaseException | None = field(default=None, repr=False)


@contextmanager
def server(answers: list[bytes | None]) -> Iterator[StandIn]:
    """Answers connections in turn: bytes are sent, None resets the connection unanswered.

    Answers the prober never asks for are not waited for: on exit the serving thread is told to
    stop, wakes from accept() within ACCEPT_POLL and is joined before the listener is closed."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(ACCEPT_POLL)
    stand_in = StandIn(f"http://127.0.0.1:{listener.getsockname()[1]}")
    done = threading.Event()

    def accept() -> socket.socket | None:
        while not done.is_set():
            try:
                return listener.accept()[0]
            except TimeoutError:
                continue
        return None

    def serve() -> None:
        try:
            for answer in answers:
                connection = accept()
                if connection is None:
                    return
                stand_in.connections += 1
                with connection:
                    connection.settimeout(5)
                    connection.recv(4096)
                    if answer is None:  # RST, like a replica killed with the request in flight
                        connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    else:
                        connection.sendall(answer)
        except BaseException as exc:  # reported by the test, not as a stray thread exception
            stand_in.failure = exc

    thread = threading.Thread(target=serve, name="availability-stand-in")
    thread.start()
    try:
        yield stand_in
    finally:
        done.set()
        thread.join(timeout=10)
        listener.close()
    assert not thread.is_alive(), "the stand-in server did not stop"
    assert stand_in.failure is None, f"the stand-in server failed: {stand_in.failure!r}"


def _probe(answers: list[bytes | None]) -> tuple[int, bool, int]:
    """The probe's status and retried flag, and how many connections it opened."""
    with server(answers) as stand_in, httpx.Client(timeout=2) as http:
        prober = AvailabilityProber(stand_in.url)
        http.headers["Connection"] = "close"
        status, retried, _ = prober._probe(http)
    return status, retried, stand_in.connections


def test_a_connection_broken_once_is_retried_and_counted() -> None:
    assert _probe([None, OK]) == (200, True, 2)


def test_an_answer_is_not_retried() -> None:
    assert _probe([OK]) == (200, False, 1)
    assert _probe([ERROR, OK]) == (500, False, 1)  # the OK is never asked for


def test_broken_twice_is_a_failed_probe_that_says_so() -> None:
    assert _probe([None, None]) == (0, True, 2)
    with server([None, None]) as stand_in, httpx.Client(timeout=2) as http:
        http.headers["Connection"] = "close"
        assert AvailabilityProber(stand_in.url)._probe(http)[2].startswith("connection broke twice")


def _at(at: float, ok: bool = True, status: int = 200) -> Probe:
    return Probe(at, ok, status, 0.01, error="" if status else "ReadTimeout after 2 s")


def test_availability_is_time_and_outages_are_runs_of_failed_probes() -> None:
    probes = [_at(n / 10) for n in range(100)]
    probes[40:43] = [_at(4.0, False, 0), _at(4.1, False, 0), _at(4.2, False, 503)]
    probes[70] = _at(7.0, False, 500)
    judgement = judge(probes, 0.1)
    assert judgement.total_s == pytest.approx(10.0)
    assert judgement.unavailable_s == pytest.approx(0.4)
    assert judgement.ratio == pytest.approx(0.96)
    assert [(o.start_s, round(o.duration_s, 3)) for o in judgement.outages] == [
        (4.0, 0.3),
        (7.0, 0.1),
    ]
    assert judgement.longest == judgement.outages[0]
    assert judgement.longest.answers == "ReadTimeout after 2 s x2, 503 x1"
    assert judge([], 0.1).ratio == 0.0


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        time.sleep(0.5)  # every answer takes five probe intervals
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_cadence_holds_while_answers_are_slow() -> None:
    with serving(_Slow) as slow:
        prober = AvailabilityProber(_url(slow), interval=0.1)
        try:
            prober.start()
            wait_until(lambda: len(prober.probes) >= 10, 20, "ten probes answered")
        finally:
            prober.stop()
    first = sorted(prober.probes, key=lambda p: p.at)[:10]
    assert all(p.ok for p in first)
    assert first[-1].at - first[0].at == pytest.approx(0.9, abs=0.05)  # one due every 0.1 s
    assert min(p.latency_s for p in first) >= 0.5  # while each took 0.5 s to answer


def test_a_timeout_is_a_failed_probe_that_says_so() -> None:
    with serving(_Slow) as slow, httpx.Client(timeout=0.2) as http:
        prober = AvailabilityProber(_url(slow), timeout=0.2)
        assert prober._probe(http) == (0, False, "ReadTimeout after 0.2 s")


def test_a_share_is_judged_over_enough_probes_to_allow_one_failure() -> None:
    assert probes_needed(0.999) == 1000 and probes_needed(0.99) == 100 and probes_needed(1.0) == 1
    assert failures_allowed(1000, 0.999) == 1 and failures_allowed(985, 0.999) == 0
    assert failures_allowed(2000, 0.999) == 2
    one_failed = [_at(n / 10) for n in range(1000)]
    one_failed[380] = _at(38.0, False, 0)
    assert judge(one_failed, 0.1).meets(0.999)  # exactly 99.9 %, whatever the float says
    assert not judge(one_failed[:985], 0.1).meets(0.999)
    one_failed[381] = _at(38.1, False, 0)
    assert not judge(one_failed, 0.1).meets(0.999)
