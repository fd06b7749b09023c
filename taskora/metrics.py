"""Prometheus metrics. With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` (the
``serve`` command does) and every worker's samples are aggregated on each scrape."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["CONTENT_TYPE_LATEST", "REQUESTS", "REQUEST_SECONDS", "render"]

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


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
