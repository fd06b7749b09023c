"""Metrics of the event backbone (registered with the service's other metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = [
    "CONSUMED",
    "DEAD_LETTERED",
    "DUPLICATES",
    "OUTBOX_LAG",
    "PUBLISHED",
    "RETRIED",
    "SSE_CONNECTIONS",
]

PUBLISHED = Counter("taskora_events_published_total", "Events handed to the bus, by type", ["type"])
CONSUMED = Counter(
    "taskora_events_consumed_total", "Events applied by a consumer", ["consumer", "type"]
)
RETRIED = Counter(
    "taskora_events_retried_total",
    "Deliveries that failed and will be retried",
    ["consumer", "type"],
)
DEAD_LETTERED = Counter(
    "taskora_events_dead_lettered_total",
    "Events moved to a dead-letter topic",
    ["consumer", "topic"],
)
DUPLICATES = Counter(
    "taskora_events_duplicates_skipped_total", "Redeliveries recognised and skipped", ["consumer"]
)
OUTBOX_LAG = Gauge(
    "taskora_outbox_lag_seconds",
    "Age of the oldest event not yet handed to the bus",
    multiprocess_mode="max",
)
SSE_CONNECTIONS = Gauge(
    "taskora_sse_connections", "Open event-stream connections", multiprocess_mode="livesum"
)
