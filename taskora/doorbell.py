"""PostgreSQL ``NOTIFY`` sent after commit, from a thread of its own, many commits one NOTIFY.

A ``NOTIFY`` inside a transaction takes a lock on the whole database from its ``PREPARE`` of the
commit until the commit record is flushed, so every transaction that notifies commits one at a
time: with one in each task write, writes could not share a WAL flush, and measured on this
project's machine that halved the commits per second. A write block instead says which channels
it would notify (``taskora.db.notify_after_commit``); once its transaction has committed, the
``Doorbell`` sends one ``NOTIFY`` per channel for every ring that arrived while it was busy.

Listeners lose nothing by this: a NOTIFY only wakes them early, they read what committed and poll
on a timeout anyway (a crash between the commit and the NOTIFY costs a listener that timeout).

A round of NOTIFYs goes out at most once per ``min_interval`` (10 ms): under a create load a
round per commit cost a twentieth of a create's CPU, the NOTIFYs themselves and the stream tails
they woke. A ring after a quiet spell goes out at once; under load a commit's listeners hear of
it at most that much later.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from sqlalchemy import Engine

__all__ = ["Doorbell"]

log = logging.getLogger(__name__)
MIN_INTERVAL_SECONDS = 0.01


class Doorbell:
    def __init__(self, engine: Engine, *, min_interval: float = MIN_INTERVAL_SECONDS) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._min_interval = min_interval
        self._pending: set[str] = set()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def ring(self, channels: set[str]) -> None:
        """Notify these channels soon; returns at once."""
        with self._changed:
            if self._closed:
                return
            waiting = not self._pending  # else the thread takes these with those at its time
            self._pending |= channels
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="taskora-doorbell", daemon=True
                )
                self._thread.start()
            if waiting:
                self._changed.notify()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        sent_at = -math.inf
        while True:
            with self._changed:
                while not self._pending and not self._closed:
                    self._changed.wait()
                # The rings that arrive until the interval since the last round is over join
                # this round.
                while not self._closed and (
                    (left := sent_at + self._min_interval - time.monotonic()) > 0
                ):
                    self._changed.wait(left)
                if self._closed:
                    return
                channels, self._pending = self._pending, set()
            try:
                with self._engine.connect() as connection:
                    for channel in sorted(channels):
                        connection.exec_driver_sql(f"NOTIFY {channel}")
            except Exception as exc:  # the listeners' poll timeout covers a missed NOTIFY
                log.warning("NOTIFY failed; listeners will poll: %s", exc)
            sent_at = time.monotonic()
