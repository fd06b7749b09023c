"""An SSE tab ends quietly when it is closed, whenever that happens: a loaded flakes run caught a
tab whose response was closed just as its thread began to read (``httpx.StreamClosed``, which is
not an ``httpx.HTTPError``), an exception in a thread that failed another test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from httpx_sse import EventSource, ServerSentEvent

from harness.probes.sse import SseTab


class _Stream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        ping = b": ping\n\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(ping), ping))
        self.wfile.flush()
        self.rfile.read(1)  # until the tab goes away

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def stream_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stream)
    server.daemon_threads = True
    serving = threading.Thread(target=server.serve_forever, name="sse-stand-in")
    serving.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        serving.join(10)


def test_a_tab_closed_as_it_begins_to_read_ends_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    tabs: list[SseTab] = []
    reading = EventSource.iter_sse

    def closed_first(source: EventSource) -> Iterator[ServerSentEvent]:
        tabs[0].close()  # the harness closes the tab at this very moment
        return reading(source)

    monkeypatch.setattr(EventSource, "iter_sse", closed_first)
    with stream_server() as url:
        tab = SseTab(url, "token")
        tabs.append(tab)
        tab.start()
        tab.join(10)
    assert not tab.is_alive(), "the tab's thread did not end"
    assert tab.error is None


def test_a_tab_closed_while_it_reads_ends_quietly() -> None:
    with stream_server() as url:
        tab = SseTab(url, "token")
        tab.start()
        assert tab.connected.wait(10)
        tab.close()
        tab.join(10)
    assert not tab.is_alive() and tab.error is None
