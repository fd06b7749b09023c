"""The availability prober: a connection broken mid-request is retried once, as clients do for
an idempotent GET; an error answer or a second broken connection is a failed probe."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from harness.probes.availability import AvailabilityProber

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
                        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                              struct.pack("ii", 1, 0))  # fmt: skip
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
        status, retried = prober._probe(http)
    return status, retried, stand_in.connections


def test_a_connection_broken_once_is_retried_and_counted() -> None:
    assert _probe([None, OK]) == (200, True, 2)


def test_an_answer_is_not_retried() -> None:
    assert _probe([OK]) == (200, False, 1)
    assert _probe([ERROR, OK]) == (500, False, 1)  # the OK is never asked for


def test_broken_twice_is_a_failed_probe() -> None:
    assert _probe([None, None]) == (0, True, 2)
