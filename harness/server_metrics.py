"""What the service's own metrics say about a criterion, read with PromQL from the Prometheus
that scraped the run: the server's P95 beside Locust's (SC-009), the share of requests answered
without a 5xx and the share of scrapes that found the service up (SC-007), and the project's
alerts that went pending or fired (OBS-001).

The server's request histogram (``taskora_http_request_duration_seconds``) times a request from
the moment the app sees it: queueing before it and the network are the client's share. Its P95
is known to the resolution of its buckets; ``ServerP95.bucket`` is the one that holds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.prometheus import PromQL

__all__ = ["AlertSeen", "ServerAvailability", "ServerP95", "alerts_seen", "availability", "p95"]

API = 'route=~"/api/.*", route!="/api/events/stream"'  # as SC-009 and the latency alert count
DURATION = "taskora_http_request_duration_seconds"
REQUESTS = "taskora_http_requests_total"
UP = 'up{job=~".*taskora.*"}'
ALERTS = 'ALERTS{alertname=~"Taskora.*"}'


def _range(window: str | float) -> str:
    """A PromQL range: a duration as given (``7d``), or whole seconds (at least two scrapes)."""
    return window if isinstance(window, str) else f"{max(2, math.ceil(window))}s"


@dataclass(frozen=True)
class ServerP95:
    p95_ms: float | None
    bucket_ms: tuple[float, float]  # (lower, upper] bounds of the bucket holding the P95
    requests: float

    def disagreement(self, client_ms: float) -> str:
        """Empty when the client's P95 falls in the server's bucket; else what it means."""
        lower, upper = self.bucket_ms
        if self.p95_ms is None or lower < client_ms <= upper:
            return ""
        if client_ms > upper:
            return (
                f"the load generator's P95 {client_ms:.0f} ms is above the server's bucket "
                f"({lower:g}, {upper:g}] ms: time spent before the app saw the requests "
                "(queueing, the network, the load generator's own CPU)"
            )
        return (
            f"the load generator's P95 {client_ms:.0f} ms is below the server's bucket "
            f"({lower:g}, {upper:g}] ms: the server's histogram counts requests the load "
            "did not send, or the two clocks disagree"
        )


def p95(promql: PromQL, *, start: float, end: float) -> ServerP95 | None:
    """The server's P95 over the API's requests between two Unix times; None without data."""
    window = _range(end - start)
    buckets = promql.vector(f"sum by (le) (increase({DURATION}_bucket{{{API}}}[{window}]))", end)
    counts = sorted((float(labels["le"]), value) for labels, value in buckets)
    if not counts or counts[-1][1] <= 0:
        return None
    quantile = promql.scalar(
        f"histogram_quantile(0.95, sum by (le) (rate({DURATION}_bucket{{{API}}}[{window}])))", end
    )
    requests = counts[-1][1]
    rank, lower = 0.95 * requests, 0.0
    for bound, count in counts:
        if count >= rank:
            return ServerP95(
                None if quantile is None else quantile * 1000,
                (lower * 1000, bound * 1000),
                requests,
            )
        lower = bound
    return None  # unreachable: the +Inf bucket holds every request


@dataclass(frozen=True)
class ServerAvailability:
    ratio: float | None  # requests answered without a 5xx, of all requests answered
    requests: float
    up_ratio: float | None  # scrapes that found a process of the service up, of all scrapes


def availability(promql: PromQL, *, window: str | float, at: float) -> ServerAvailability:
    """The server's view of availability over ``window`` (seconds, or a PromQL duration) up to
    ``at``. Requests that never reached the service (refused, timed out) are not in it: the
    prober sees those."""
    span = _range(window)
    answered = promql.scalar(f"sum(increase({REQUESTS}[{span}]))", at) or 0.0
    failed = promql.scalar(f'sum(increase({REQUESTS}{{status=~"5.."}}[{span}]))', at) or 0.0
    up = promql.scalar(f"avg(avg_over_time({UP}[{span}]))", at)
    ratio = (answered - failed) / answered if answered > 0 else None
    return ServerAvailability(ratio, answered, up)


@dataclass(frozen=True)
class AlertSeen:
    name: str
    state: str  # pending (its condition held) or firing (held for its ``for:``)
    labels: dict[str, str]
    after_s: float  # first seen this long after the window began

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return f"{self.name} {self.state} after {self.after_s:.0f} s" + (
            f" ({shown})" if shown else ""
        )


def alerts_seen(
    promql: PromQL, *, start: float, end: float, step_s: float = 1.0
) -> list[AlertSeen]:
    """The project's alerts that were pending or firing at any evaluation between two Unix
    times (looked at every ``step_s``, the rules' evaluation interval), each with when it was
    first seen; firing ones first."""
    first = f"min_over_time(timestamp({ALERTS})[{_range(end - start)}:{step_s:g}s])"
    seen = []
    for labels, at in promql.vector(first, end):
        other = {k: v for k, v in labels.items() if k not in ("alertname", "alertstate")}
        name, state = labels.get("alertname", "?"), labels.get("alertstate", "?")
        seen.append(AlertSeen(name, state, other, max(0.0, at - start)))
    return sorted(seen, key=lambda a: (a.state != "firing", a.after_s, a.name))
