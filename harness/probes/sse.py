"""SSE subscribers of one user, like several browser tabs, each recording what it received
and when (monotonic clock, comparable with the writers' own timestamps)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import connect_sse

__all__ = ["Receipt", "SseTab", "open_tabs"]


@dataclass(frozen=True)
class Receipt:
    at: float  # time.monotonic() when it arrived
    id: str
    type: str
    event: dict[str, Any]


class SseTab(threading.Thread):
    def __init__(self, base_url: str, token: str, *, last_event_id: str | None = None) -> None:
        super().__init__(daemon=True, name="harness-sse-tab")
        self.url = f"{base_url}/api/events/stream"
        self.headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = last_event_id
        self.receipts: list[Receipt] = []
        self.served_by: str | None = None  # the worker named by the stream's X-Served-By
        self.connected = threading.Event()
        self.error: str | None = None
        self._lock = threading.Lock()
        self._closing = False
        self._response: httpx.Response | None = None

    def run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(5, read=60)) as http,
                connect_sse(http, "GET", self.url, headers=self.headers) as source,
            ):
                source.response.raise_for_status()
                self._response = source.response
                self.served_by = source.response.headers.get("X-Served-By")
                self.connected.set()
                if self._closing:  # closed while it connected
                    return
                for sse in source.iter_sse():
                    if sse.data:  # keep-alive pings carry none
                        receipt = Receipt(time.monotonic(), sse.id, sse.event, json.loads(sse.data))
                        with self._lock:
                            self.receipts.append(receipt)
        # StreamError (StreamClosed): close() closed the response just as this began to read
        except (httpx.HTTPError, httpx.StreamError, json.JSONDecodeError) as exc:
            if not self._closing:
                self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.connected.set()

    def snapshot(self) -> list[Receipt]:
        with self._lock:
            return list(self.receipts)

    def close(self) -> None:
        """End the subscription now: the socket is shut down, which wakes the thread's read
        (closing the response alone leaves it blocked until the next keep-alive ping)."""
        self._closing = True
        response = self._response
        if response is None:
            return
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        response.close()


def open_tabs(base_url: str, token: str, count: int, timeout: float = 10.0) -> list[SseTab]:
    tabs = [SseTab(base_url, token) for _ in range(count)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.connected.wait(timeout)
        if tab.error:
            raise RuntimeError(f"an SSE tab could not connect: {tab.error}")
    return tabs
