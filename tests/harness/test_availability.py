"""The availability prober: a connection broken mid-request is retried once, as clients do for
an idempotent GET; an error answer or a second broken connection is a failed probe."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from harness.probes.availability import AvailabilityProber

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
ERROR = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"


@contextmanager
def server(answers: list[bytes | None]) -> Iterator[str]:
    """Answers connections in turn: bytes are sent, None resets the connection unanswered."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for answer in answers:
            connection, _ = listener.accept()
            with connection:
                connection.recv(4096)
                if answer is None:  # RST, like a replica killed with the request in flight
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          struct.pack("ii", 1, 0))  # fmt: skip
                else:
                    connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def _probe(answers: list[bytes | None]) -> tuple[int, bool]:
    with server(answers) as url, httpx.Client(timeout=2) as http:
        prober = AvailabilityProber(url)
        http.headers["Connection"] = "close"
        return prober._probe(http)


def test_a_connection_broken_once_is_retried_and_counted() -> None:
    assert _probe([None, OK]) == (200, True)


def test_an_answer_is_not_retried() -> None:
    assert _probe([OK]) == (200, False)
    assert _probe([ERROR, OK]) == (500, False)


def test_broken_twice_is_a_failed_probe() -> None:
    assert _probe([None, None]) == (0, True)
