"""Watches a TestClient's event loop: no database statement may run on it, and, in asyncio's
debug mode, no callback may spend 200 ms or more of CPU on the loop's thread. The API suite
(``API_SUITE``) always runs in debug mode; ``TASKORA_TEST_ASYNCIO_DEBUG=1`` turns it on for
every test that uses the ``client`` fixture. CPU time, not wall time: on a loaded machine a
callback's wall time grows with other processes (the run queue) and with threads preempted while
holding the GIL, which is not the callback blocking the loop. Blocking *waits* on the loop are
caught exactly instead: the database hook below, and the real-server tests in
tests/taskora/test_event_loop.py.

The database check is exact, not timed: a SQLAlchemy ``before_cursor_execute`` hook fails the
test when it fires on a thread that is running an event loop."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

__all__ = [
    "API_SUITE",
    "SLOW_CALLBACK_SECONDS",
    "SlowCallbacks",
    "StatementsOnTheLoop",
    "debug_for",
    "watched_client",
]

# One-time work on the loop (an app's first request, FastAPI building its handlers, an error
# response's first encoding) measured 52-82 ms of CPU on a loaded 2-core machine: not a callback
# blocking the loop, which the exact checks catch (statements on the loop here, and a blocked
# database in tests/taskora/test_event_loop.py). This bound is for CPU-heavy work on the loop.
SLOW_CALLBACK_SECONDS = 0.2
DEBUG = os.environ.get("TASKORA_TEST_ASYNCIO_DEBUG") == "1"
# The modules whose TestClient loops always run in debug mode: the API's requests, end to end.
API_SUITE = frozenset(
    {"test_tasks_api.py", "test_task_list.py", "test_tags_api.py", "test_system.py", "test_auth.py"}
)


def debug_for(test_module: Path) -> bool:
    """Whether the tests of this module run their loops in debug mode."""
    return DEBUG or test_module.name in API_SUITE


class SlowCallbacks(AssertionError):
    """Event-loop callbacks spent SLOW_CALLBACK_SECONDS or more of CPU on the loop."""


class StatementsOnTheLoop(AssertionError):
    """Database statements ran on the event loop's thread."""


_slow: list[str] = []
_run_handle = asyncio.events.Handle._run


def _timed_run(handle: asyncio.events.Handle) -> None:
    started = time.thread_time()
    _run_handle(handle)
    cpu = time.thread_time() - started
    if cpu >= SLOW_CALLBACK_SECONDS:
        _slow.append(f"{handle!r} ran {cpu * 1000:.0f} ms of CPU on the loop")


def _debug_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 3600.0  # judged by _timed_run instead, in CPU time
    return loop


@contextmanager
def watched_client(app: FastAPI, *, debug: bool = DEBUG) -> Iterator[TestClient]:
    on_loop: list[str] = []

    def before_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread: where handlers must touch the database
        on_loop.append(statement.split("\n")[0][:120])

    engine = app.state.db.engine
    event.listen(engine, "before_cursor_execute", before_execute)
    options = {"loop_factory": _debug_loop} if debug else {}
    if debug:
        # The collector runs inside whichever callback allocates when a generation fills (a full
        # pass over pytest's heap takes ~60 ms; debug mode allocates a traceback per handle):
        # that is the runtime's pause, not the callback's work. It is off while the app runs,
        # and the heap so far is frozen out of its passes (not collected first: that full pass
        # per test doubled the API suite's time).
        gc.freeze()
        gc.disable()
        asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]
    try:
        with TestClient(app, backend_options=options) as client:
            yield client
    finally:
        asyncio.events.Handle._run = _run_handle  # type: ignore[method-assign]
        slow = _slow[:]
        _slow.clear()  # this client's, judged below: never the next one's
        if debug:
            gc.enable()
            gc.unfreeze()
        event.remove(engine, "before_cursor_execute", before_execute)
    if on_loop:
        raise StatementsOnTheLoop(f"database statements ran on the event loop: {on_loop[:5]}")
    if slow:
        raise SlowCallbacks(f"event-loop callbacks of 200 ms or more: {slow[:5]}")
