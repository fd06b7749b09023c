"""Availability: ``GET /ready`` every ``interval`` seconds for the whole run, chaos included."""

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
                try:
                    status = http.get(self.url).status_code
                except httpx.HTTPError:
                    status = 0
                now = time.monotonic()
                self.probes.append(Probe(sent - started, status == 200, status, now - sent))
                self._halt.wait(max(0.0, self.interval - (now - sent)))

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=self.timeout + 1)

    @property
    def ratio(self) -> float | None:
        probes = list(self.probes)
        return sum(p.ok for p in probes) / len(probes) if probes else None
