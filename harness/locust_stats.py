"""Locust's result files read into numbers: per-endpoint and total P50/P95/P99 from the
response-time histograms of ``--json-file``, and the user count over time from
``--csv``'s ``_stats_history.csv``.

Locust stores response times rounded: exact below 100 ms, to 10 ms up to 1 s, to 100 ms up to
10 s, then to 1 s. Percentiles computed here carry that resolution (``RESOLUTION_NOTE``).
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

__all__ = [
    "RESOLUTION_NOTE",
    "EndpointStats",
    "LoadStats",
    "Progress",
    "read_load_stats",
    "read_progress",
]

RESOLUTION_NOTE = (
    "Locust rounds response times: exact below 100 ms, to 10 ms from 100 ms to 1 s, "
    "to 100 ms from 1 s to 10 s."
)
SSE_TYPE = "SSE"  # the stream's own rows: delivery latency, not an API response time
LOST_TYPE = "LOST"  # tasks that answered 404 to the user who created them: data loss


def percentile(histogram: Counter[int], q: float) -> float | None:
    """The smallest recorded time with at least ``q`` (0-1) of the requests at or below it."""
    total = sum(histogram.values())
    if total == 0:
        return None
    wanted = q * total
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= wanted:
            return float(value)
    return float(max(histogram))


@dataclass(frozen=True)
class EndpointStats:
    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LoadStats:
    endpoints: list[EndpointStats]  # API rows, then the SSE rows
    total: EndpointStats  # the API's requests only
    duration_s: float
    peak_users: int
    held_s: float  # seconds the peak user count was held
    failures: list[dict[str, str]] = field(default_factory=list)
    lost: int = 0  # created tasks (201) that later answered 404 to their creator
    # One row a second: [seconds since the start, users, requests/s, failures/s, P95 ms of the
    # last 10 s (Locust's --csv-full-history; None before any answer)]
    timeline: list[list[float | None]] = field(default_factory=list)
    started_at: float = (
        0.0  # Unix time of the first request (the window the server's metrics cover)
    )

    @property
    def failure_ratio(self) -> float:
        return self.total.failures / self.total.requests if self.total.requests else 1.0


def _row(method: str, name: str, entries: list[dict[str, Any]], duration: float) -> EndpointStats:
    histogram: Counter[int] = Counter()
    for entry in entries:
        histogram.update({int(float(k)): int(v) for k, v in entry["response_times"].items()})
    requests = sum(int(e["num_requests"]) for e in entries)
    failures = sum(int(e["num_failures"]) for e in entries)
    return EndpointStats(
        method=method,
        name=name,
        requests=requests,
        failures=failures,
        rps=requests / duration if duration > 0 else 0.0,
        p50_ms=percentile(histogram, 0.50),
        p95_ms=percentile(histogram, 0.95),
        p99_ms=percentile(histogram, 0.99),
        max_ms=max((float(e["max_response_time"] or 0) for e in entries), default=None),
    )


def _held(history: Path) -> tuple[int, float]:
    """The peak user count and how long (s) it was held, from the per-second history."""
    if not history.is_file():
        return 0, 0.0
    with history.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("Name") == "Aggregated"]
    counts = [(int(r["Timestamp"]), int(r["User Count"])) for r in rows if r["User Count"]]
    if not counts:
        return 0, 0.0
    peak = max(users for _, users in counts)
    at_peak = [ts for ts, users in counts if users == peak]
    return peak, float(at_peak[-1] - at_peak[0] + 1)  # each row stands for one second


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:  # Locust writes N/A before the first answer
        return None
    return value if math.isfinite(value) else None


def _timeline(history: Path) -> list[list[float | None]]:
    """The per-second history's aggregated rows, for the report's plots over time."""
    if not history.is_file():
        return []
    with history.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("Name") == "Aggregated"]
    if not rows:
        return []
    start = int(rows[0]["Timestamp"])
    return [
        [
            float(int(r["Timestamp"]) - start),
            _number(r.get("User Count")),
            _number(r.get("Requests/s")),
            _number(r.get("Failures/s")),
            _number(r.get("95%")),
        ]
        for r in rows
    ]


def _failures(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def read_load_stats(json_file: Path, csv_prefix: Path) -> LoadStats:
    """Read one Locust run's ``--json-file`` and ``--csv`` outputs."""
    try:
        entries = json.loads(json_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"Locust wrote no readable results at {json_file}: {exc}") from None
    if not entries:
        raise HarnessError("Locust recorded no requests: was the service reachable?")
    starts = [float(e["start_time"]) for e in entries]
    ends = [float(e["last_request_timestamp"] or e["start_time"]) for e in entries]
    duration = max(ends) - min(starts)
    api = [e for e in entries if e["method"] not in (SSE_TYPE, LOST_TYPE)]
    sse = [e for e in entries if e["method"] == SSE_TYPE]
    lost = sum(int(e["num_requests"]) for e in entries if e["method"] == LOST_TYPE)
    rows = [_row(e["method"], e["name"], [e], duration) for e in sorted(api, key=_key)]
    rows += [_row(e["method"], e["name"], [e], duration) for e in sorted(sse, key=_key)]
    history = Path(f"{csv_prefix}_stats_history.csv")
    peak, held = _held(history)
    return LoadStats(
        endpoints=rows,
        total=_row("", "Total (API)", api, duration),
        duration_s=duration,
        peak_users=peak,
        held_s=held,
        failures=_failures(Path(f"{csv_prefix}_failures.csv")),
        lost=lost,
        timeline=_timeline(history),
        started_at=min(starts),
    )


def _key(entry: dict[str, Any]) -> tuple[str, str]:
    return entry["name"], entry["method"]


@dataclass(frozen=True)
class Progress:
    """Where a running Locust stands, from the latest row of its per-second history."""

    users: int
    rps: float
    requests: int
    failures: int


def read_progress(csv_prefix: Path) -> Progress | None:
    """The latest ``Aggregated`` row of ``_stats_history.csv`` (None before the first)."""
    try:
        lines = Path(f"{csv_prefix}_stats_history.csv").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    rows = [r for r in csv.DictReader(lines) if r.get("Name") == "Aggregated"]
    if not rows:
        return None
    last = rows[-1]
    try:
        return Progress(
            users=int(last["User Count"]),
            rps=float(last["Requests/s"]),
            requests=int(last["Total Request Count"]),
            failures=int(last["Total Failure Count"]),
        )
    except (KeyError, ValueError):  # a row being written as it was read
        return None
