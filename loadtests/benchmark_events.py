"""Benchmark of the event backbone: commit -> SSE receipt latency, and reminder lateness.

Run from the repository root::

    python loadtests/benchmark_events.py [--writes 300] [--subscribers 3] [--workers 2]
        [--reminders 50] [--database-url URL]

It starts ``taskora serve`` (two workers by default) on a fresh SQLite file, opens
``--subscribers`` SSE connections for one user (browser tabs), and makes ``--writes`` task
writes at about 20/s over new connections, so they land on every worker. Latency is the time
from the event's ``time`` (stamped in the writing transaction) to its receipt by each tab, on
the same clock. Then it creates ``--reminders`` tasks whose ``remind_at`` is 2-6 s ahead and
measures lateness: receipt of ``reminder.due`` minus ``remind_at``. A benchmark: it prints
numbers (p50/p95/p99/max) and judges none of them.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from httpx_sse import connect_sse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_core import free_port, mint_tokens, running_server  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--subscribers", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reminders", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    return parser.parse_args()


class Tab(threading.Thread):
    """One SSE subscriber: (receipt wall time, event) pairs into a queue."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.received: queue.Queue[tuple[datetime, dict[str, object]]] = queue.Queue()
        self.ready = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(5, read=None)) as http,
                connect_sse(
                    http, "GET", f"{self.url}/api/events/stream", headers=headers
                ) as source,
            ):
                self.ready.set()
                for sse in source.iter_sse():
                    if sse.data:  # keep-alive pings carry no data
                        self.received.put((datetime.now(UTC), json.loads(sse.data)))
        except httpx.HTTPError:
            return


def collect(
    tabs: list[Tab], want: int, event_type: str, timeout: float
) -> list[list[tuple[datetime, dict]]]:
    """Per tab, the first ``want`` events of ``event_type`` (or what arrived before timeout)."""
    out: list[list[tuple[datetime, dict]]] = [[] for _ in tabs]
    deadline = time.monotonic() + timeout
    for tab, got in zip(tabs, out, strict=True):
        while len(got) < want and time.monotonic() < deadline:
            try:
                received, event = tab.received.get(timeout=0.2)
            except queue.Empty:
                continue
            if event.get("type") == event_type:
                got.append((received, event))
    return out


def summary(label: str, values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        print(f"{label}: no samples")
        return {}
    ordered = sorted(values_ms)
    q = (
        statistics.quantiles(ordered, n=100, method="inclusive")
        if len(ordered) > 1
        else ordered * 99
    )
    result = {"n": len(ordered), "p50": q[49], "p95": q[94], "p99": q[98], "max": ordered[-1]}
    print(
        f"{label}: n={result['n']:.0f}  p50={result['p50']:.1f} ms  p95={result['p95']:.1f} ms  "
        f"p99={result['p99']:.1f} ms  max={result['max']:.1f} ms"
    )
    return result


def measure_sync(base_url: str, token: str, tabs: list[Tab], writes: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for i in range(writes):
        httpx.post(
            f"{base_url}/api/tasks", json={"title": f"sync {i}"}, headers=headers
        ).raise_for_status()
        time.sleep(0.05)
    per_tab = collect(tabs, writes, "task.created", timeout=30)
    latencies = [
        (received - datetime.fromisoformat(str(event["time"]))).total_seconds() * 1000
        for got in per_tab
        for received, event in got
    ]
    missed = writes * len(tabs) - len(latencies)
    print(f"commit -> SSE receipt, {len(tabs)} subscribers, {writes} writes (missed: {missed})")
    summary("  latency", latencies)


def measure_reminders(base_url: str, token: str, tabs: list[Tab], count: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    due: dict[int, datetime] = {}
    for i in range(count):
        remind_at = datetime.now(UTC) + timedelta(seconds=random.uniform(2, 6))
        body = {"title": f"remind {i}", "remind_at": remind_at.isoformat()}
        task = httpx.post(f"{base_url}/api/tasks", json=body, headers=headers).json()
        due[task["id"]] = remind_at
    got = collect(tabs[:1], count, "reminder.due", timeout=30)[0]
    lateness = [
        (received - due[event["data"]["task"]["id"]]).total_seconds() * 1000  # type: ignore[index]
        for received, event in got
    ]
    print(f"reminder lateness, {count} reminders 2-6 s ahead (missed: {count - len(lateness)})")
    summary("  lateness", lateness)


def main() -> int:
    args = parse_args()
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="taskora-bench-events-") as workdir:
        url = args.database_url or f"sqlite:///{Path(workdir) / 'bench.db'}"
        log = Path(workdir) / "serve.log"
        with running_server(url, secret, args.workers, free_port(), log) as base_url:
            token = mint_tokens(secret, 1, 3600)[0]
            tabs = [Tab(base_url, token) for _ in range(args.subscribers)]
            for tab in tabs:
                tab.start()
                tab.ready.wait(10)
            time.sleep(0.5)
            measure_sync(base_url, token, tabs, args.writes)
            measure_reminders(base_url, token, tabs, args.reminders)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
