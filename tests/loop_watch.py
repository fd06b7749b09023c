"""Watches a TestClient's event loop: no database statement may run on it, and, with
``TASKORA_TEST_ASYNCIO_DEBUG=1``, no callback may take longer than 50 ms (asyncio's debug mode,
the way ``loop.slow_callback_duration`` reports it).

The database check is exact, not timed: a SQLAlchemy ``before_cursor_execute`` hook fails the
test when it fires on a thread that is running an event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

__all__ = ["SLOW_CALLBACK_SECONDS", "watched_client"]

SLOW_CALLBACK_SECONDS = 0.05
DEBUG = os.environ.get("TASKORA_TEST_ASYNCIO_DEBUG") == "1"


def _debug_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
    return loop


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing "):  # asyncio: "Executing <Handle ...> took 0.1 s"
            self.messages.append(message)


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
    slow = _Collect()
    asyncio_log = logging.getLogger("asyncio")
    options = {"loop_factory": _debug_loop} if DEBUG else {}
    if DEBUG:  # a full collection over pytest's heap takes ~60 ms, in whichever thread
        gc.collect()
        gc.freeze()
    asyncio_log.addHandler(slow)
    try:
        with TestClient(app, backend_options=options) as client:
            yield client
    finally:
        asyncio_log.removeHandler(slow)
        gc.unfreeze()
        event.remove(engine, "before_cursor_execute", before_execute)
    assert not on_loop, f"database statements ran on the event loop: {on_loop[:5]}"
    assert not slow.messages, f"event-loop callbacks over 50 ms: {slow.messages[:5]}"
