"""Availability: ``GET /ready`` every ``interval`` seconds for the whole run, chaos included.

Probes go out on a fixed schedule whatever is in flight (each on a thread of a pool, with its
own timeout), so a slow answer costs the time it covers and no more, and the cadence holds
under load. A probe whose connection breaks before any answer (a replica killed with it in
flight) is retried once at once, as HTTP clients retry an idempotent request (RFC 9110,
9.2.2); the retry is counted. A timeout, a 5xx or a second broken connection is a failed probe.

Availability is judged in time, not probes: each probe stands for the ``interval`` after it was
due; consecutive failed probes are one outage (``judge``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

__all__ = [
    "AvailabilityProber",
    "Judgement",
    "Outage",
    "Probe",
    "failures_allowed",
    "judge",
    "probes_needed",
]


@dataclass(frozen=True)
class Probe:
    at: float  # seconds since the prober started, when it was due
    ok: bool
    status: int  # 0 when no answer came
    latency_s: float
    retried: bool = False  # the first connection broke before an answer
    error: str = ""  # why no answer came: "timeout after 2 s", "connection broke twice", ...


@dataclass(frozen=True)
class Outage:
    start_s: float  # since the prober started
    duration_s: float
    answers: str  # what the failed probes got: "timeout x3, 503 x1"


@dataclass(frozen=True)
class Judgement:
    total_s: float
    unavailable_s: float
    outages: list[Outage]

    @property
    def ratio(self) -> float:
        return 1.0 - self.unavailable_s / self.total_s if self.total_s else 0.0

    def meets(self, required: float) -> bool:
        """``ratio >= required``, for ratios of whole probes (1 - 0.1/100 is 0.999 only to the
        last bit of a float)."""
        return self.ratio >= required - 1e-9

    @property
    def longest(self) -> Outage | None:
        return max(self.outages, key=lambda o: o.duration_s, default=None)


def probes_needed(required: float) -> int:
    """The fewest probes over which the share ``required`` allows one failed probe: 1000 for
    99.9 %. Over 985 probes, 99.9 % allows none (one is 0.1015 %): stricter than it says."""
    return round(1 / (1 - required)) if required < 1 else 1


def failures_allowed(probes: int, required: float) -> int:
    """How many of ``probes`` may fail with the share ``required`` still met."""
    return int(probes * (1 - required) + 1e-9)


def _answers(failed: list[Probe]) -> str:
    counts = Counter(str(p.status) if p.status else p.error or "no answer" for p in failed)
    return ", ".join(f"{what} x{n}" for what, n in counts.most_common())


def judge(probes: list[Probe], interval: float) -> Judgement:
    """Each probe covers the ``interval`` after it was due; runs of failed ones are outages."""
    ordered = sorted(probes, key=lambda p: p.at)
    outages: list[Outage] = []
    run: list[Probe] = []
    for probe in [*ordered, None]:
        if probe is not None and not probe.ok:
            run.append(probe)
            continue
        if run:
            outages.append(Outage(run[0].at, len(run) * interval, _answers(run)))
            run = []
    return Judgement(len(ordered) * interval, sum(o.duration_s for o in outages), outages)


class AvailabilityProber(threading.Thread):
    def __init__(self, base_url: str, *, interval: float = 0.1, timeout: float = 2.0) -> None:
        super().__init__(daemon=True, name="harness-availability")
        self.url = f"{base_url}/ready"
        self.interval = interval
        self.timeout = timeout
        self.probes: list[Probe] = []
        self._halt = threading.Event()
        # Enough probes in flight that the schedule holds while each waits its full timeout
        # (twice, with its one retry).
        self.in_flight = max(2, math.ceil(2 * timeout / interval) + 2)

    def run(self) -> None:
        started = time.monotonic()
        limits = httpx.Limits(max_connections=self.in_flight)
        with (
            httpx.Client(timeout=self.timeout, limits=limits) as http,
            ThreadPoolExecutor(self.in_flight, thread_name_prefix="harness-probe") as pool,
        ):
            due = started
            while not self._halt.wait(max(0.0, due - time.monotonic())):
                pool.submit(self._record, http, due - started)
                due += self.interval

    def _record(self, http: httpx.Client, at: float) -> None:
        sent = time.monotonic()
        status, retried, error = self._probe(http)
        latency = time.monotonic() - sent
        self.probes.append(Probe(at, status == 200, status, latency, retried, error))

    def _probe(self, http: httpx.Client) -> tuple[int, bool, str]:
        """The status (0: no answer), whether a broken connection was retried, and why no
        answer came."""
        for attempt in (0, 1):
            try:
                return http.get(self.url).status_code, attempt == 1, ""
            except httpx.TimeoutException as exc:
                return 0, attempt == 1, f"{type(exc).__name__} after {self.timeout:g} s"
            except httpx.TransportError as exc:
                broke = type(exc).__name__
                continue
            except httpx.HTTPError as exc:
                return 0, attempt == 1, type(exc).__name__
        return 0, True, f"connection broke twice ({broke})"

    def stop(self) -> None:
        """No new probe; those in flight finish (within their timeouts)."""
        self._halt.set()
        self.join(timeout=2 * self.timeout + 1)

    def judged(self) -> Judgement:
        return judge(list(self.probes), self.interval)
