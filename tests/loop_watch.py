"""Watches a TestClient's event loop: no database statement may run on it, and, with
``TASKORA_TEST_ASYNCIO_DEBUG=1`` (asyncio's debug mode), no callback may hold the loop for 50 ms
or more. A callback's time is its wall time less the time its thread sat runnable in the
kernel's run queue (``/proc/thread-self/schedstat``): on a loaded machine other processes may
delay a callback without it blocking the loop; CPU work, blocking calls and waits for the GIL
still count.

The database check is exact, not timed: a SQLAlchemy ``before_cursor_execute`` hook fails the
test when it fires on a thread that is running an event loop."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

__all__ = ["SLOW_CALLBACK_SECONDS", "watched_client"]

SLOW_CALLBACK_SECONDS = 0.05
DEBUG = os.environ.get("TASKORA_TEST_ASYNCIO_DEBUG") == "1"


def _run_queue_seconds() -> float:
    """How long this thread has waited, runnable, for a CPU (Linux schedstat)."""
    with open("/proc/thread-self/schedstat") as stat:
        return int(stat.read().split()[1]) / 1e9


_slow: list[str] = []
_run_handle = asyncio.events.Handle._run


def _timed_run(handle: asyncio.events.Handle) -> None:
    started, queued = time.perf_counter(), _run_queue_seconds()
    _run_handle(handle)
    held = time.perf_counter() - started - (_run_queue_seconds() - queued)
    if held >= SLOW_CALLBACK_SECONDS:
        _slow.append(f"{handle!r} held the loop {held * 1000:.0f} ms")


def _debug_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 3600.0  # judged by _timed_run instead, net of load
    return loop


@contextmanager
def watched_client(app: FastAPI) -> Iterator[TestClient]:
    on_loop: list[str] = []

    def before_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread: where handlers must touch the database
        on_loop.append(statement.split("\n")[0][:120])

    engine = app.state.db.engine
    event.listen(engine, "before_cursor_execute", before_execute)
    options = {"loop_factory": _debug_loop} if DEBUG else {}
    if DEBUG:  # a full collection over pytest's heap takes ~60 ms, in whichever thread
        gc.collect()
        gc.freeze()
        _slow.clear()
        asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]
    try:
        with TestClient(app, backend_options=options) as client:
            yield client
    finally:
        asyncio.events.Handle._run = _run_handle  # type: ignore[method-assign]
        gc.unfreeze()
        event.remove(engine, "before_cursor_execute", before_execute)
    assert not on_loop, f"database statements ran on the event loop: {on_loop[:5]}"
    assert not _slow, f"event-loop callbacks of 50 ms or more: {_slow[:5]}"
