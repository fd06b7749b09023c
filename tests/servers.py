"""Stand-in HTTP servers for tests: served from a thread that is stopped and joined on exit,
with every request handler thread joined too, so nothing outlives the test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["ServingThread", "serving"]

POLL = 0.05  # how often serve_forever looks for a shutdown request


class ServingThread:
    """``server.serve_forever`` in a thread of its own; ``stop`` ends and joins it."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        server.daemon_threads = False  # server_close() joins the handler threads
        server.block_on_close = True
        self.server = server
        self.thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL},
            name=f"stand-in-{server.RequestHandlerClass.__name__}",
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the stand-in server did not stop"


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """A threaded HTTP server on a free local port answering with ``handler``."""
    runner = ServingThread(ThreadingHTTPServer(("127.0.0.1", 0), handler))
    runner.start()
    try:
        yield runner.server
    finally:
        runner.stop()
