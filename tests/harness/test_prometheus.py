"""The local Prometheus and the server's views of the criteria, with Debian's real
``prometheus`` scraping a stand-in exporter whose counters grow by a known amount each scrape,
and evaluating the project's own alert rules."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from harness import server_metrics
from harness.prometheus import LocalPrometheus, PromQL
from tests.servers import serving
from tests.waiting import wait_until

# Per scrape: 90 requests answered 200 in under 10 ms, 10 answered 500 in 250-500 ms. The P95 is
# in the (250, 500] ms bucket, 10 % of requests fail (the error-rate alert's condition holds).
PER_SCRAPE_OK, PER_SCRAPE_FAILED = 90, 10
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.15", "0.25", "0.5", "1.0", "+Inf")


class Exporter(BaseHTTPRequestHandler):
    scrapes = 0
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        with Exporter.lock:
            Exporter.scrapes += 1
            n = Exporter.scrapes
        route = 'method="GET",route="/api/tasks"'
        lines = [
            f'taskora_http_requests_total{{{route},status="200"}} {PER_SCRAPE_OK * n}',
            f'taskora_http_requests_total{{{route},status="500"}} {PER_SCRAPE_FAILED * n}',
            "taskora_outbox_lag_seconds 0",
        ]
        for le in BUCKETS:
            fast = PER_SCRAPE_OK if float(le) >= 0.01 else 0
            slow = PER_SCRAPE_FAILED if float(le) >= 0.5 else 0
            lines.append(
                f'taskora_http_request_duration_seconds_bucket{{{route},le="{le}"}} '
                f"{(fast + slow) * n}"
            )
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def prometheus(tmp_path: Path, prometheus_server: str) -> Iterator[tuple[LocalPrometheus, float]]:
    """A real Prometheus scraping the exporter; the moment it first scraped it."""
    Exporter.scrapes = 0
    with serving(Exporter) as exporter:
        server = LocalPrometheus(
            tmp_path / "prometheus", {"all": f"127.0.0.1:{exporter.server_port}"}
        )
        server.start()
        try:
            yield server, server.wait_scraping()
        finally:
            server.stop()


def test_the_server_views_read_what_the_service_exported(prometheus) -> None:
    server, since = prometheus
    promql = PromQL(server.url)
    assert wait_until(lambda: Exporter.scrapes >= 4, timeout=30, what="four scrapes")
    now = promql.scalar('max(timestamp(up{job="taskora"}))')
    assert now is not None and now > since

    view = server_metrics.p95(promql, start=since, end=now)
    assert view is not None and view.bucket_ms == (250.0, 500.0)
    assert view.p95_ms == pytest.approx(375.0)  # linear within the bucket, as PromQL does
    assert view.disagreement(400.0) == ""
    assert "above the server's bucket" in view.disagreement(900.0)
    assert "below the server's bucket" in view.disagreement(100.0)

    seen = server_metrics.availability(promql, window=now - since, at=now)
    assert seen.ratio == pytest.approx(0.9) and seen.up_ratio == 1.0 and seen.requests > 0


def test_the_projects_error_rate_rules_go_off_on_the_exported_failures(prometheus) -> None:
    server, since = prometheus
    promql = PromQL(server.url)
    # 10 % failed: the error-rate alert goes pending (its for: 5m has not passed), the burn-rate
    # alerts (no for:) fire. A group's rules are stored one by one: wait for all three.
    expected = {
        ("TaskoraHighErrorRate", "pending"),
        ("TaskoraErrorBudgetBurnFast", "firing"),
        ("TaskoraErrorBudgetBurnSlow", "firing"),
    }
    start = since + 2  # after the evaluations that saw no series yet (as OBS-001 does)

    def went_off() -> list[server_metrics.AlertSeen]:
        seen = server_metrics.alerts_seen(promql, start=start, end=time.time())
        return seen if {(a.name, a.state) for a in seen} >= expected else []

    seen = wait_until(went_off, timeout=30, what="the error-rate alerts", every=0.2)
    # and nothing else: the outbox reports no lag, the latency P95 is 375 ms
    assert {(a.name, a.state) for a in seen} == expected
    error_rate = next(a for a in seen if a.name == "TaskoraHighErrorRate")
    assert error_rate.labels == {"namespace": "local", "severity": "critical"}
    assert 0 <= error_rate.after_s < 30


def test_stop_ends_the_server_and_keeps_its_data_for_the_report(prometheus) -> None:
    server, _ = prometheus
    process = server.process
    assert process is not None
    server.stop()
    assert process.poll() is not None and server.process is None
    assert (server.directory / "data").is_dir()
    assert "taskora.rules.yaml" in (server.directory / "prometheus.yml").read_text()
