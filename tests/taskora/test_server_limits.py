"""``taskora serve`` refuses oversized request heads and clients too slow to send one, before the
application sees them; ordinary requests, bodies and idle keep-alive connections are not cut."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.process import Server, running
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TIMEOUT_S = 1.0  # the head and body deadlines of the server under test
LIMITS = {
    "TASKORA_MAX_HEADER_BYTES": "8192",
    "TASKORA_MAX_HEADERS": "20",
    "TASKORA_HEADER_TIMEOUT_SECONDS": str(TIMEOUT_S),
    "TASKORA_BODY_TIMEOUT_SECONDS": str(TIMEOUT_S),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("limits")
    with running(
        f"sqlite:///{directory / 'limits.db'}", directory / "serve.log", workers=1, env=LIMITS
    ) as server:
        yield server


def _exchange(server: Server, *parts: bytes) -> bytes:
    """Send each part, then read until the server closes; what it answered (a server that
    answers and closes mid-send is what some of these tests expect)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10 * TIMEOUT_S) as sock:
        try:
            for part in parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer


def _get(server: Server, path: str = "/health", extra: str = "", close: bool = True) -> bytes:
    connection = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{connection}{extra}\r\n".encode()


def test_a_header_over_the_limit_is_431(server: Server) -> None:
    answer = _exchange(server, _get(server, extra=f"X-Big: {'a' * 9000}\r\n"))
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]


def test_an_endless_header_is_cut_off_at_the_limit(server: Server) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: "
    answer = _exchange(server, head, *[b"a" * 4096] * 256)  # 1 MiB, never finished
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]


def test_too_many_headers_is_431(server: Server) -> None:
    many = "".join(f"X-H{n}: v\r\n" for n in range(25))
    answer = _exchange(server, _get(server, extra=many))
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    assert b"More than 20 request headers" in answer
    wait_until(
        lambda: "More than 20 request headers" in server.log_path.read_text(),
        10,
        "the refusal is logged with its reason",
    )


def test_a_url_over_the_limit_is_414(server: Server) -> None:
    answer = _exchange(server, _get(server, path="/health?q=" + "a" * 9000))
    assert answer.startswith(b"HTTP/1.1 414"), answer[:100]


def test_a_connection_that_sends_nothing_is_closed_with_408(server: Server) -> None:
    started = time.monotonic()
    answer = _exchange(server)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert time.monotonic() - started < 5 * TIMEOUT_S


def test_a_head_sent_too_slowly_is_408(server: Server) -> None:
    answer = _exchange(server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never ends
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert b"Request head not received in time" in answer


def test_a_body_sent_too_slowly_is_408(server: Server) -> None:
    head = (
        "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {server.token('slow')}\r\nContent-Length: 100\r\n\r\n"
    ).encode()
    answer = _exchange(server, head, b'{"title": ')  # 10 of the 100 bytes promised
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert b"Request body not received in time" in answer


def test_ordinary_requests_a_large_body_and_idle_keep_alive_pass(server: Server) -> None:
    body = b'{"title": "large", "description": "' + b"d" * 9000 + b'"}'
    post = (
        "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {server.token('large')}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    near_limit = "".join(f"X-H{n}: {'v' * 200}\r\n" for n in range(15))  # 15 headers, ~3.3 KB
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(post + body)  # head and a body larger than the head limit, in one write
        assert _response(sock).status == 201
        time.sleep(2 * TIMEOUT_S)  # idle past the head deadline: keep-alive's own timer applies
        sock.sendall(_get(server, extra=near_limit, close=False))
        assert _response(sock).status == 200


def _response(sock: socket.socket) -> http.client.HTTPResponse:
    """One whole response read off a kept-alive connection (a recv may return part of one)."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    return response


def test_the_limits_are_on_by_default(tmp_path: Path) -> None:
    with running(f"sqlite:///{tmp_path / 'd.db'}", tmp_path / "serve.log", workers=1) as server:
        answer = _exchange(server, _get(server, extra=f"X-Big: {'a' * 40_000}\r\n"))
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
