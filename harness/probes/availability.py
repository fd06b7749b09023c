"""Availability: ``GET /ready`` every ``interval`` seconds for the whole run, chaos included.

A probe whose connection breaks before any answer (a replica killed with it in flight) is
retried once at once, as HTTP clients retry an idempotent request (RFC 9110, 9.2.2); the retry
is counted. A timeout, a 5xx or a second broken connection is a failed probe.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

__all__ = ["AvailabilityProber", "Probe"]


@dataclass(frozen=True)
class Probe:
    at: float  # seconds since the prober started
    ok: bool
    status: int  # 0 when no answer came
    latency_s: float
    retried: bool = False  # the first connection broke before an answer


class AvailabilityProber(threading.Thread):
    def __init__(self, base_url: str, *, interval: float = 0.1, timeout: float = 2.0) -> None:
        super().__init__(daemon=True, name="harness-availability")
        self.url = f"{base_url}/ready"
        self.interval = interval
        self.timeout = timeout
        self.probes: list[Probe] = []
        self._halt = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        with httpx.Client(timeout=self.timeout) as http:
            while not self._halt.is_set():
                sent = time.monotonic()
                status, retried = self._probe(http)
                now = time.monotonic()
                self.probes.append(
                    Probe(sent - started, status == 200, status, now - sent, retried)
                )
                self._halt.wait(max(0.0, self.interval - (now - sent)))

    def _probe(self, http: httpx.Client) -> tuple[int, bool]:
        """The status (0: no answer) and whether a broken connection was retried."""
        for attempt in (0, 1):
            try:
                return http.get(self.url).status_code, attempt == 1
            except httpx.TimeoutException:
                return 0, attempt == 1
            except httpx.TransportError:
                continue
            except httpx.HTTPError:
                return 0, attempt == 1
        return 0, True

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=self.timeout + 1)

    @property
    def ratio(self) -> float | None:
        probes = list(self.probes)
        return sum(p.ok for p in probes) / len(probes) if probes else None
