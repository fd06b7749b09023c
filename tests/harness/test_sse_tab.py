"""An SSE tab ends quietly when it is closed, whenever that happens: a loaded flakes run caught a
tab whose response was closed just as its thread began to read (``httpx.StreamClosed``, which is
not an ``httpx.HTTPError``), an exception in a thread that failed another test."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from httpx_sse import EventSource, ServerSentEvent

from harness.probes.sse import SseTab
from tests.servers import serving


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


def test_a_tab_closed_as_it_begins_to_read_ends_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    tabs: list[SseTab] = []
    reading = EventSource.iter_sse

    def closed_first(source: EventSource) -> Iterator[ServerSentEvent]:
        tabs[0].close()  # the harness closes the tab at this very moment
        return reading(source)

    monkeypatch.setattr(EventSource, "iter_sse", closed_first)
    with serving(_Stream) as server:
        tab = SseTab(f"http://127.0.0.1:{server.server_address[1]}", "token")
        tabs.append(tab)
        tab.start()
        tab.join(10)
    assert not tab.is_alive(), "the tab's thread did not end"
    assert tab.error is None


def test_a_tab_closed_while_it_reads_ends_quietly() -> None:
    with serving(_Stream) as server:
        tab = SseTab(f"http://127.0.0.1:{server.server_address[1]}", "token")
        tab.start()
        assert tab.connected.wait(10)
        tab.close()
        tab.join(10)
    assert not tab.is_alive() and tab.error is None
