"""What runs in the background of each worker process, by role: the event-stream tail (api),
the relay and the bus's consumers (consumers), the reminder ticker and housekeeping (scheduler);
the role ``all`` runs everything. Started and stopped by the application's lifespan; each loop
survives errors and stops promptly on shutdown."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from taskora.db import Database, utcnow
from taskora.domain.consumers import build_consumers
from taskora.domain.faults import with_faults
from taskora.domain.jobs import housekeeping, measure_outbox_lag, reminder_check
from taskora.events.bus import Bus, InlineBus
from taskora.events.delivery import Consumer
from taskora.events.faults import FaultyEventStream, late_clock, wrap_bus
from taskora.events.relay import Relay
from taskora.events.stream import EventStream
from taskora.settings import Settings

__all__ = ["Runtime", "build_bus"]

log = logging.getLogger("taskora.runtime")


def build_bus(settings: Settings, db: Database, consumers: tuple[Consumer, ...]) -> Bus:
    if settings.bus == "redis":
        from taskora.events.redis_bus import RedisBus

        return RedisBus(
            db, consumers, url=settings.redis_url, holder=_holder(), prefix=settings.redis_prefix
        )
    if settings.bus == "dapr":
        from taskora.events.dapr import DaprBus

        return DaprBus(grpc_port=settings.dapr_grpc_port, pubsub=settings.dapr_pubsub)
    return InlineBus(db, consumers)


RELAY_LINGER_SECONDS = 0.05
HOUSEKEEPING_SECONDS = 30.0
# How often the scheduler role measures the outbox lag (the age of the oldest undelivered
# event): a stuck relay shows on /metrics within seconds, well inside the 30 s alert.
OUTBOX_LAG_SECONDS = 5.0


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _every(stop: threading.Event, seconds: float, job: Callable[[], object], name: str) -> None:
    while not stop.is_set():
        try:
            job()
        except Exception:
            log.exception("background job failed; it runs again", extra={"job": name})
        stop.wait(seconds)


class Runtime:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        faults = settings.failpoints
        self.consumers = with_faults(build_consumers(), faults) if faults else build_consumers()
        # The time the reminder scan runs at: the wall clock, or (failpoint late_reminders) a
        # clock that far behind, so that every reminder is claimed that late.
        self.reminder_clock = late_clock(faults.late_reminders) if faults.late_reminders else utcnow
        self.bus = wrap_bus(build_bus(settings, db, self.consumers), faults)
        self.relay = Relay(db, self.bus, holder=_holder())
        self.stream = FaultyEventStream(db, faults) if faults else EventStream(db)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._relaying = False

    def _relay_loop(self) -> None:
        """A full batch is followed at once; a partial one after a short linger, so that under
        load events go out in batches (fewer transactions) rather than one by one."""
        while not self._stop.is_set():
            try:
                busy = self.relay.run_once()
            except Exception:
                log.exception("relay failed; it runs again")
                busy = 0
            if busy >= self.relay.batch:
                continue
            self._stop.wait(RELAY_LINGER_SECONDS if busy else self.settings.relay_interval_seconds)

    def _housekeeping(self) -> None:
        housekeeping(
            self.db,
            event_retention=timedelta(hours=self.settings.event_retention_hours),
            idempotency_ttl=timedelta(seconds=self.settings.idempotency_ttl_seconds),
        )

    def _ticker(self) -> None:
        _every(
            self._stop,
            self.settings.ticker_seconds,
            lambda: reminder_check(self.db, now=self.reminder_clock()),
            "reminder-check",
        )

    def _loops(self) -> list[tuple[str, Callable[[], None]]]:
        """The loops of this process's role."""
        runs = self.settings.runs
        loops: list[tuple[str, Callable[[], None]]] = []
        if runs("api"):
            loops.append(("stream", lambda: self.stream.run(self._stop)))
        if runs("consumers"):
            loops.append(("relay", self._relay_loop))
        if runs("scheduler"):
            every = HOUSEKEEPING_SECONDS
            loops.append(
                (
                    "housekeeping",
                    partial(_every, self._stop, every, self._housekeeping, "housekeeping"),
                )
            )
            lag = partial(measure_outbox_lag, self.db)
            loops.append(
                ("outbox-lag", partial(_every, self._stop, OUTBOX_LAG_SECONDS, lag, "outbox-lag"))
            )
            if self.settings.ticker_seconds > 0:
                loops.append(("ticker", self._ticker))
        return loops

    def start(self) -> None:
        for name, target in self._loops():
            thread = threading.Thread(target=target, name=f"taskora-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.settings.runs("consumers"):
            self._threads.extend(self.bus.start(self._stop))
            self._relaying = True

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._relaying:
            try:
                self.relay.release()
            except Exception:
                log.warning("could not release the relay lease; it expires by itself")
        self.bus.close()
