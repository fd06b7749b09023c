"""Cross-client sync (SC-002): several tabs of one user subscribe to the event stream, one client
of that user writes, and every tab must receive every change in time.

A delivery's latency is its receipt minus the write's acknowledgement, both on the harness's own
monotonic clock (0 when the event arrived before the answer): no clock is shared with the
service, so it holds for remote deployments too. Writes are matched by their unique titles.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx

from harness.probes.sse import SseTab, open_tabs
from harness.targets import Deployment
from harness.verdicts import Sample

__all__ = ["SyncInBackground", "SyncResult", "created_titles", "measure_sync"]


@dataclass(frozen=True)
class SyncResult:
    samples: list[Sample]  # one per delivery that arrived: tab/write -> seconds
    missed: int  # deliveries that never arrived
    writes: int
    tabs: int
    workers: list[str | None] = field(default_factory=list)  # each tab's X-Served-By

    def per_tab(self) -> list[dict[str, object]]:
        """Each tab: the worker that served it, its slowest delivery and what it missed."""
        slowest: dict[str, float] = {}
        arrived: dict[str, int] = {}
        for sample in self.samples:
            tab = sample.label.split("/")[0]
            slowest[tab] = max(slowest.get(tab, 0.0), sample.value)
            arrived[tab] = arrived.get(tab, 0) + 1
        return [{"tab": f"tab{n}", "worker": worker, "slowest_s": slowest.get(f"tab{n}"),
                 "missed": self.writes - arrived.get(f"tab{n}", 0)}
                for n, worker in enumerate(self.workers)]  # fmt: skip

    @property
    def covered(self) -> int:
        """How many workers served the tabs (0 where the service does not name them)."""
        return len({w for w in self.workers if w})

    @property
    def deliveries(self) -> int:
        return self.writes * self.tabs

    @property
    def slowest(self) -> float:
        return max((s.value for s in self.samples), default=float("inf"))


def created_titles(tab: SseTab) -> dict[str, float]:
    """Receipt time of each task.created, by title."""
    return {
        r.event["data"]["task"]["title"]: r.at for r in tab.snapshot() if r.type == "task.created"
    }


def measure_sync(
    deployment: Deployment, user: str, *, tabs: int, writes: int, wait_s: float
) -> SyncResult:
    """Open ``tabs`` tabs of ``user``, make ``writes`` writes one after another, and wait up to
    ``wait_s`` after the last for every tab to have every change."""
    opened = open_tabs(deployment.base_url, deployment.token(user), tabs)
    acked: dict[str, float] = {}  # title -> when the write was acknowledged
    try:  # a tab is subscribed once connected: the service registers it before it answers
        with httpx.Client(base_url=deployment.base_url, headers=deployment.headers(user),
                          timeout=10.0) as api:  # fmt: skip
            for i in range(writes):
                title = f"{user} write {i}"
                api.post("/api/tasks", json={"title": title}).raise_for_status()
                acked[title] = time.monotonic()
        deadline = time.monotonic() + wait_s
        while not all(acked.keys() <= created_titles(t).keys() for t in opened):
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    finally:
        for tab in opened:
            tab.close()
    samples, missed = [], 0
    for n, tab in enumerate(opened):
        seen = created_titles(tab)
        for i, (title, ack) in enumerate(acked.items()):
            if title in seen:
                samples.append(Sample(f"tab{n}/write{i}", max(0.0, seen[title] - ack)))
            else:
                missed += 1
    return SyncResult(samples, missed, writes, tabs, [tab.served_by for tab in opened])


class SyncInBackground:
    """``measure_sync`` on a thread of its own: SC-002 under load, started at the load's peak.
    ``result`` is set when it finished, ``error`` when it could not run (one line)."""

    def __init__(
        self, deployment: Deployment, user: str, *, tabs: int, writes: int, wait_s: float
    ) -> None:
        self._run = lambda: measure_sync(deployment, user, tabs=tabs, writes=writes, wait_s=wait_s)
        self.result: SyncResult | None = None
        self.error: str | None = None
        self.started = threading.Event()

    def __call__(self) -> None:
        self.started.set()
        try:
            self.result = self._run()
        except (httpx.HTTPError, RuntimeError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
