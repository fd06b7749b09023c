"""Prometheus metrics. With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` (the
``serve`` command does) and every worker's samples are aggregated on each scrape."""

from __future__ import annotations

import asyncio
import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = [
    "CONTENT_TYPE_LATEST",
    "EVENT_LOOP_LAG",
    "REQUESTS",
    "REQUEST_SECONDS",
    "WRITE_BATCH",
    "render",
    "watch_event_loop",
]

REQUESTS = Counter(
    "taskora_http_requests_total",
    "HTTP requests answered, by route template and status code",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "taskora_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

EVENT_LOOP_LAG = Histogram(
    "taskora_event_loop_lag_seconds",
    "How late the event loop ran a timer due every 0.25 s: time it could not serve requests",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LAG_SAMPLE_SECONDS = 0.25

WRITE_BATCH = Histogram(
    "taskora_write_batch_size",
    "SQLite write blocks committed together in one transaction (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


async def watch_event_loop(interval: float = LAG_SAMPLE_SECONDS) -> None:
    """Observe, forever, how much later than asked the loop wakes a sleeping task."""
    while True:
        asked = time.perf_counter()
        await asyncio.sleep(interval)
        EVENT_LOOP_LAG.observe(max(0.0, time.perf_counter() - asked - interval))


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
