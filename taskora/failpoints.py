"""Failpoints: faults planted on purpose, so that the validation harness can prove it fails.

Off unless ``TASKORA_FAILPOINTS`` is set, e.g. ``sse_delay=3,error_rate=0.05``. The value is
parsed once, into the frozen ``Settings.failpoints``; a hook costs one attribute check when off.
``TASKORA_FAILPOINTS_SEED`` seeds the random draws. Production refuses to start with any set.

=================  ==============  ===========================================================
name               value           effect
=================  ==============  ===========================================================
sse_delay          seconds         the SSE stream holds each live event that long after its
                                   time (replay is not held)
slow_worker        seconds         the same in one worker process only: the first of a
                                   supervisor's workers to claim it (Linux; the others are
                                   healthy, like one slow replica behind a balancer)
busy_above         connections     ``sse_delay`` and ``slow_worker`` hold events only while more
                                   than that many connections made an ``/api/`` request (event
                                   streams aside) to the worker in the last 2 s: SSE slow only
                                   under load
drop_events        fraction 0..1   the event stream skips that share of events (no subscriber
                                   of this process gets them live)
lose_events        fraction 0..1   the outbox relay marks that share of events dispatched
                                   without publishing them: no consumer ever gets them
lose_deletes       0 or 1          the same for every ``task.deleted`` event, and no other
lose_writes        fraction 0..1   ``POST /api/tasks`` answers 201 but rolls the write back
lose_keyless       fraction 0..1   the same, only for creates sent without ``Idempotency-Key``
late_reminders     seconds         the reminder scan claims only reminders that late
no_recurrence      0 or 1          the recurrence consumer creates no next occurrence (the
                                   event is still recorded as processed)
error_rate         fraction 0..1   that share of HTTP requests (all but ``/health``) get a 500
slow_requests      milliseconds    each ``/api/`` request waits that long first
skip_owner_check   0 or 1          ``GET /api/tasks/{id}`` answers with any user's task (a
                                   route that forgot whose data it serves)
silent_poison      0 or 1          the consumers swallow an event they cannot apply: it counts
                                   as processed, with no dead letter and no trace
skew_recurrence    0 or 1          a next occurrence is due a day after the day its rule gives
=================  ==============  ===========================================================

They are planted by wrapping the seams they break, only when set: a fault middleware and the
task creator and reader dependencies (``taskora.api.faults``, installed by the app factory), a
lossy bus, a faulty stream tail and a reminder clock set behind (``taskora.events.faults``, built
by the runtime), and the consumers' handlers (``taskora.domain.faults``). No other module reads
them.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from pydantic import GetCoreSchemaHandler, ValidationInfo
from pydantic_core import CoreSchema, core_schema

from taskora.errors import ConfigurationError

__all__ = ["OFF", "Failpoints"]

VARIABLE = "TASKORA_FAILPOINTS"


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _duration(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _fraction(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1:
        raise ValueError("a fraction must be between 0 and 1")
    return value


def _count(text: str) -> int:
    value = _number(text)
    if value < 0 or value != int(value):
        raise ValueError("must be a whole number, 0 or more")
    return int(value)


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError("must be 0 or 1")
    return text == "1"


_PARSERS: dict[str, Callable[[str], float | bool]] = {
    "sse_delay": _duration,  # seconds
    "slow_worker": _duration,  # seconds
    "busy_above": _count,  # connections
    "drop_events": _fraction,
    "lose_events": _fraction,
    "lose_deletes": _flag,
    "lose_writes": _fraction,
    "lose_keyless": _fraction,
    "late_reminders": _duration,  # seconds
    "no_recurrence": _flag,
    "error_rate": _fraction,
    "slow_requests": _duration,  # milliseconds
    "skip_owner_check": _flag,
    "silent_poison": _flag,
    "skew_recurrence": _flag,
}


@dataclass(frozen=True)
class Failpoints:
    """The planted faults; all off by default. Falsy when none is active."""

    sse_delay: float = 0.0
    slow_worker: float = 0.0
    busy_above: int = 0
    drop_events: float = 0.0
    lose_events: float = 0.0
    lose_deletes: bool = False
    lose_writes: float = 0.0
    lose_keyless: float = 0.0
    late_reminders: float = 0.0
    no_recurrence: bool = False
    error_rate: float = 0.0
    slow_requests: float = 0.0
    skip_owner_check: bool = False
    silent_poison: bool = False
    skew_recurrence: bool = False
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    traffic: Traffic = field(
        default_factory=lambda: Traffic(time.monotonic), compare=False, repr=False
    )

    @classmethod
    def parse(cls, spec: str, *, seed: int | None = None) -> Failpoints:
        """``name=value,name=value``; raises ``ConfigurationError`` naming the bad part."""
        values: dict[str, float | bool] = {}
        for raw in spec.split(","):
            part = raw.strip()
            if not part:
                continue
            name, equals, text = (piece.strip() for piece in part.partition("="))
            if not equals:
                raise ConfigurationError(f"{VARIABLE}: {part!r} is not name=value")
            if name not in _PARSERS:
                known = ", ".join(sorted(_PARSERS))
                raise ConfigurationError(
                    f"{VARIABLE}: unknown failpoint {name!r} in {part!r} (known: {known})"
                )
            if name in values:
                raise ConfigurationError(f"{VARIABLE}: {name!r} is set twice")
            try:
                values[name] = _PARSERS[name](text)
            except ValueError as exc:
                raise ConfigurationError(f"{VARIABLE}: bad value in {part!r}: {exc}") from None
        return cls(**values, rng=random.Random(seed))  # type: ignore[arg-type]

    def active(self) -> dict[str, float | bool]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.compare and getattr(self, f.name)
        }

    def __bool__(self) -> bool:
        return bool(self.active())

    def __str__(self) -> str:
        """The active failpoints in the ``TASKORA_FAILPOINTS`` format."""
        return ",".join(f"{name}={value:g}" for name, value in self.active().items())

    def chance(self, fraction: float) -> bool:
        """True for ``fraction`` of the calls (1 always, 0 never)."""
        return self.rng.random() < fraction

    @property
    def holds_streams(self) -> bool:
        return bool(self.sse_delay or self.slow_worker)

    def stream_delay(self) -> float:
        """How long the SSE stream holds a live event now: ``sse_delay``, or ``slow_worker`` in the
        slow worker, and nothing while the worker is not busy (``busy_above``)."""
        if self.busy_above and self.traffic.clients() <= self.busy_above:
            return 0.0
        slow = self.slow_worker if self.slow_worker and _claimed_slow_worker() else 0.0
        return max(self.sse_delay, slow)

    async def hold(self, event_time: datetime) -> None:
        """Wait until the event is ``stream_delay()`` seconds old by the wall clock its time was
        taken from (the loop sleeps by the monotonic clock, and the two drift apart by up to
        0.05 % while NTP slews the wall clock: sleep again for what is left)."""
        delay = self.stream_delay()
        while (age := (datetime.now(UTC) - event_time).total_seconds()) < delay:
            await asyncio.sleep(delay - age)

    # A Settings field: parsed from the TASKORA_FAILPOINTS string, dumped back to one.
    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.with_info_before_validator_function(
            cls._from_setting,
            core_schema.is_instance_schema(cls),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def _from_setting(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            return cls.parse(value, seed=info.data.get("failpoints_seed"))
        return value


class Traffic:
    """The connections that made an ``/api/`` request to this process lately, event streams
    aside (``busy_above``)."""

    WINDOW_S = 2.0

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._seen: dict[object, float] = {}  # client (host, port) -> when it last asked

    def saw(self, client: object) -> None:
        self._seen[client] = self._clock()
        if len(self._seen) > 10_000:  # bounded however many clients come and go
            self.clients()

    def clients(self) -> int:
        """How many connections asked within the window."""
        cutoff = self._clock() - self.WINDOW_S
        self._seen = {client: at for client, at in self._seen.items() if at >= cutoff}
        return len(self._seen)


_CLAIM: list[socket.socket] = []  # the slow worker's claim, held open for the process's life


def _claimed_slow_worker() -> bool:
    """True in exactly one of a supervisor's worker processes: the first to bind an abstract
    Unix socket named after the supervisor (released by the kernel when that process exits, so a
    replacement worker can claim it)."""
    if _CLAIM:
        return True
    claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        claim.bind(f"\0taskora-slow-worker-{os.getppid()}")
    except OSError:
        claim.close()
        return False
    _CLAIM.append(claim)
    return True


OFF = Failpoints()
