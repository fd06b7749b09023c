"""The shared wait for ``GET /ready``: ready, gone, or out of time."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

from harness.readiness import Readiness, answers, wait_ready
from harness.targets.throwaway import free_port
from tests.servers import serving


class _ReadyOnThirdAsk(BaseHTTPRequestHandler):
    asked = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).asked += 1
        self.send_response(200 if type(self).asked >= 3 else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_waits_through_not_ready_answers_until_200() -> None:
    _ReadyOnThirdAsk.asked = 0
    with serving(_ReadyOnThirdAsk) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/ready"
        assert wait_ready(url, timeout=30, every=0.01) is Readiness.READY
    assert _ReadyOnThirdAsk.asked == 3


def test_a_gone_process_ends_the_wait_at_once_and_silence_times_out() -> None:
    url = f"http://127.0.0.1:{free_port()}/ready"  # nothing listens there
    assert not answers(url)
    assert wait_ready(url, timeout=30, exited=lambda: True) is Readiness.EXITED
    assert wait_ready(url, timeout=0.05, every=0.01) is Readiness.TIMED_OUT
