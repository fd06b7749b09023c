"""Cross-client sync (SC-002): several tabs of one user subscribe to the event stream, one client
of that user writes, and every tab must receive every change in time.

A delivery's latency is its receipt minus the write's acknowledgement, both on the harness's own
monotonic clock (0 when the event arrived before the answer): no clock is shared with the
service, so it holds for remote deployments too. Writes are matched by their unique titles.

Every replica that serves streams must serve a tab: the service names the process behind each
stream (``X-Served-By: host/pid``), and where the target names its replicas (worker pids locally,
pods on clusters) the probe opens more tabs until each has one, or reports those it never reached.
One slow worker among several would otherwise hide behind tabs that all landed elsewhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from harness.errors import HarnessError
from harness.probes.sse import SseTab, open_tabs
from harness.targets import Deployment
from harness.verdicts import Sample

__all__ = ["SyncInBackground", "SyncResult", "created_titles", "measure_sync", "serves"]

SPREAD_S = 10.0  # how long new tabs are opened to reach every replica (a worker of a stack that
# has just started may not accept connections yet)
SPREAD_BATCH = 4  # tabs opened at once: one after another, an idle worker may accept them all


@dataclass(frozen=True)
class SyncResult:
    samples: list[Sample]  # one per delivery that arrived: tab/write -> seconds
    missed: int  # deliveries that never arrived
    writes: int
    tabs: int
    workers: list[str | None] = field(default_factory=list)  # each tab's X-Served-By
    uncovered: list[str] = field(default_factory=list)  # replicas no tab reached

    def per_tab(self) -> list[dict[str, object]]:
        """Each tab: the worker that served it, its slowest delivery and what it missed."""
        slowest: dict[str, float] = {}
        arrived: dict[str, int] = {}
        for sample in self.samples:
            tab = sample.label.split("/")[0]
            slowest[tab] = max(slowest.get(tab, 0.0), sample.value)
            arrived[tab] = arrived.get(tab, 0) + 1
        return [
            {
                "tab": f"tab{n}",
                "worker": worker,
                "slowest_s": slowest.get(f"tab{n}"),
                "missed": self.writes - arrived.get(f"tab{n}", 0),
            }
            for n, worker in enumerate(self.workers)
        ]

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


def serves(served_by: str | None, replica: str) -> bool:
    """Whether the stream named ``served_by`` (``host/pid``) ran on ``replica``: a pid (local
    workers), a pod name (its hostname) or a container id (Docker's hostname is its short id)."""
    host, _, pid = (served_by or "").rpartition("/")
    return bool(host) and (replica in (host, pid) or (len(host) >= 12 and replica.startswith(host)))


def _uncovered(replicas: Sequence[str], tabs: list[SseTab]) -> list[str]:
    return [r for r in replicas if not any(serves(tab.served_by, r) for tab in tabs)]


def open_spread_tabs(
    base_url: str, token: str, count: int, replicas: Sequence[str]
) -> tuple[list[SseTab], list[str]]:
    """``count`` tabs, then more, ``SPREAD_BATCH`` at a time for up to ``SPREAD_S``, until every
    replica serves one; a tab that reaches no new replica is closed at once. Returns the tabs and
    the replicas none reached."""
    opened = open_tabs(base_url, token, count)
    deadline = time.monotonic() + SPREAD_S
    try:
        while _uncovered(replicas, opened) and time.monotonic() < deadline:
            for tab in open_tabs(base_url, token, SPREAD_BATCH):
                if any(serves(tab.served_by, r) for r in _uncovered(replicas, opened)):
                    opened.append(tab)
                else:
                    tab.close()
                    tab.join(5)
            if _uncovered(replicas, opened):
                time.sleep(0.2)
    except BaseException:
        for tab in opened:
            tab.close()
        raise
    return opened, _uncovered(replicas, opened)


def measure_sync(
    deployment: Deployment,
    user: str,
    *,
    tabs: int,
    writes: int,
    wait_s: float,
    replicas: Sequence[str] = (),
) -> SyncResult:
    """Open ``tabs`` tabs of ``user`` (more until each of ``replicas`` serves one), make
    ``writes`` writes one after another, and wait up to ``wait_s`` after the last for every tab
    to have every change."""
    opened, uncovered = open_spread_tabs(
        deployment.base_url, deployment.token(user), tabs, replicas
    )
    acked: dict[str, float] = {}  # title -> when the write was acknowledged
    try:  # a tab is subscribed once connected: the service registers it before it answers
        with httpx.Client(
            base_url=deployment.base_url, headers=deployment.headers(user), timeout=10.0
        ) as api:
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
    return SyncResult(
        samples, missed, writes, len(opened), [tab.served_by for tab in opened], uncovered
    )


class SyncInBackground:
    """``measure_sync`` on a thread of its own: SC-002 under load, started at the load's peak.
    ``result`` is set when it finished, ``error`` when it could not run (one line)."""

    def __init__(
        self,
        deployment: Deployment,
        user: str,
        *,
        tabs: int,
        writes: int,
        wait_s: float,
        replicas: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        self._run = lambda: measure_sync(
            deployment, user, tabs=tabs, writes=writes, wait_s=wait_s, replicas=replicas()
        )
        self.result: SyncResult | None = None
        self.error: str | None = None
        self.started = threading.Event()

    def __call__(self) -> None:
        self.started.set()
        try:
            self.result = self._run()
        except (httpx.HTTPError, RuntimeError, HarnessError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
