"""Small helpers shared by the scenarios: a fresh user, an API client, percentiles, waiting."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from harness.run import Run
from harness.targets import Deployment
from harness.verdicts import Sample
from harness.waiting import poll

T = TypeVar("T")


def fresh_user(prefix: str) -> str:
    """A user of its own, so a scenario never sees another's data (shared deployments too)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def client(deployment: Deployment, user: str) -> httpx.Client:
    return httpx.Client(
        base_url=deployment.base_url, headers=deployment.headers(user), timeout=10.0
    )


def percentile(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def wait_for(check: Callable[[], T], *, timeout: float, every: float = 0.2) -> T | None:
    """Call ``check`` until it returns something truthy or ``timeout`` passes."""
    return poll(check, timeout=timeout, every=every)


def record_latencies(
    verdict: Any,
    found: Mapping[Any, float],
    *,
    expected: int,
    limit: float,
    label: str,
    **details: Any,
) -> tuple[float, int]:
    """Record a latency criterion: measured = the slowest of ``found`` (seconds per item), one
    sample per item, the median, and how many of ``expected`` never came. Returns (slowest,
    missing)."""
    latencies = list(found.values())
    missing = expected - len(found)
    slowest = max(latencies, default=float("inf"))
    verdict.record(
        measured=slowest,
        threshold=limit,
        samples=[Sample(f"{label}{key}", value) for key, value in found.items()],
        p50_s=percentile(latencies, 50),
        missing=missing,
        **details,
    )
    return slowest, missing


def streamed_replicas(run: Run, deployment: Deployment) -> Callable[[], list[str]]:
    """What SC-002's tabs must cover: every API replica, unless the harness reaches the service
    through one of them (a port-forward)."""
    return run.target.replicas if deployment.reaches_every_replica else list
