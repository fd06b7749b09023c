"""What the HTTP server refuses before a request reaches the application.

uvicorn's httptools protocol sets no bound on a request's head (a 1 MB header or 20 000 of them
are parsed and kept) and none on how slowly a client may send it, so a few hundred idle or
trickling connections hold a worker's sockets for as long as they like. ``BoundedHttpTools`` is
that protocol with the limits common servers keep (Apache's ``LimitRequestFields`` and
``RequestReadTimeout``, nginx's ``client_header_timeout`` and ``client_body_timeout``):

- a request head (request line and headers) over ``max_header_bytes``, or with more than
  ``max_headers`` headers: **431**, and the connection is closed;
- a head not complete ``header_timeout_seconds`` after the connection opened or the request
  began: **408**, closed (slowloris);
- a body not complete ``body_timeout_seconds`` after its head: **408**, closed.

``taskora serve`` passes it to uvicorn as ``http=``; the limits come from the settings
(``TASKORA_MAX_HEADER_BYTES``, ``TASKORA_MAX_HEADERS``, ``TASKORA_HEADER_TIMEOUT_SECONDS``,
``TASKORA_BODY_TIMEOUT_SECONDS``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from taskora.settings import Settings

__all__ = ["BoundedHttpTools", "ServerLimits"]

log = logging.getLogger("taskora.server")


HEAD_LATE = "Request head not received in time"
BODY_LATE = "Request body not received in time"
TOO_LARGE = "Request header fields too large"


@dataclass(frozen=True)
class ServerLimits:
    max_header_bytes: int
    max_headers: int
    header_timeout_seconds: float
    body_timeout_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> ServerLimits:
        return cls(
            settings.max_header_bytes,
            settings.max_headers,
            settings.header_timeout_seconds,
            settings.body_timeout_seconds,
        )


@cache
def _limits() -> ServerLimits:
    """Read once per worker process, from the same environment the application reads."""
    return ServerLimits.of(Settings())


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; the refusal is answered once it unwinds."""


class BoundedHttpTools(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = _limits()
        self._head_bytes = 0  # of the request line and headers the parser has handed over
        self._pending_bytes = 0  # received while the head is incomplete (the parser holds them)
        self._header_count = 0
        self._in_head = True
        self._in_body = False
        self._refusal: tuple[int, str] | None = None
        self._deadline: asyncio.TimerHandle | None = None

    # Deadlines
    def _arm(self, seconds: float, reason: str, *, head: bool) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow, reason, head)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self, reason: str, head: bool) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if head or not self.cycle.response_started:
            self._answer(408, reason)
        else:  # the application answered without waiting for the body: just end it
            self.transport.close()

    def _answer(self, status: int, reason: str) -> None:
        """Answer with ``status`` and a one-line reason, and close the connection."""
        log.warning(
            "request refused", extra={"status": status, "reason": reason, "client": self.client}
        )
        body = reason.encode("ascii")
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: %d\r\n" % len(body),
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()
        self._disarm()

    def _refuse(self, status: int, reason: str) -> None:
        self._refusal = (status, reason)
        raise _Refused(reason)

    # Protocol and parser callbacks
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout_seconds, HEAD_LATE, head=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            return
        # A deadline is set only for a head or body this chunk left incomplete: a request that
        # arrives whole (nearly all) costs no timer.
        if self._in_head:
            # The head is still incomplete, so this chunk belongs to it (after, at most, the end
            # of a pipelined request before it): a trickled or endless header the parser keeps.
            self._pending_bytes += len(data)
            if self._pending_bytes > self.limits.max_header_bytes:
                self._answer(431, TOO_LARGE)
            elif self._deadline is None:
                self._arm(self.limits.header_timeout_seconds, HEAD_LATE, head=True)
        elif self._in_body and self._deadline is None:
            self._arm(self.limits.body_timeout_seconds, BODY_LATE, head=False)

    def send_400_response(self, msg: str) -> None:
        """uvicorn answers a parser error with 400; a limit raised from a callback is ours."""
        if self._refusal is not None:
            self._answer(*self._refusal)
            return
        super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._pending_bytes = self._header_count = 0
        self._disarm()  # the connection's first deadline: from here data_received sets one

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > self.limits.max_header_bytes:
            self._refuse(414, "Request URI too long")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._refuse(431, f"More than {self.limits.max_headers} request headers")
        if self._head_bytes > self.limits.max_header_bytes:
            self._refuse(431, TOO_LARGE)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._in_body = False, True
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        self._disarm()
        super().on_message_complete()
