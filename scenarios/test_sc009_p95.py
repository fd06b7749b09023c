"""SC-009: the API's P95 response time under the SC-008 load stays under the threshold.

Total P95 over every API request of the run (the SSE stream's rows are reported, not counted),
from Locust's response-time histograms, which are rounded (see ``RESOLUTION_NOTE``). When a
Prometheus scraped the run, the service's own histogram gives its P95 over the same window
beside it (reported, not judged: it leaves out the time before the app saw a request), and a
disagreement beyond its bucket's bounds is named.
"""

from __future__ import annotations

from harness import server_metrics
from harness.load import LoadRun
from harness.locust_stats import RESOLUTION_NOTE
from harness.prometheus import SCRAPE_INTERVAL_S
from harness.run import Recorder, Run
from harness.verdicts import Sample

CRITERION = "SC-009"


def _server_view(harness_run: Run, load_run: LoadRun, verdict: Recorder) -> str:
    """The service's own P95 over the load window, recorded beside Locust's; a line for the
    summary."""
    metrics, stats = harness_run.metrics, load_run.stats
    if metrics is None:
        return ""
    end = stats.started_at + stats.duration_s + SCRAPE_INTERVAL_S
    metrics.wait_scraped(end)
    view = server_metrics.p95(metrics, start=stats.started_at, end=end)
    if view is None or view.p95_ms is None:
        verdict.note(server_p95_ms=None)
        return "; the server's histogram recorded no API request"
    client = stats.total.p95_ms
    disagreement = "" if client is None else view.disagreement(client)
    verdict.note(
        server_p95_ms=round(view.p95_ms, 1),
        server_p95_bucket_ms=list(view.bucket_ms),
        server_requests=round(view.requests),
        p95_disagreement=disagreement,
    )
    lower, upper = view.bucket_ms
    return f"; server P95 {view.p95_ms:.0f} ms (bucket {lower:g}-{upper:g} ms)" + (
        f"; {disagreement}" if disagreement else ""
    )


def test_p95_under_load(load_run: LoadRun, profile, verdict, harness_run) -> None:
    stats = load_run.stats
    limit = float(profile.get("sc009", "p95_ms"))
    p95 = stats.total.p95_ms
    verdict.record(
        measured=p95 if p95 is not None else float("inf"),
        threshold=limit,
        samples=[Sample(e.name, e.p95_ms) for e in stats.endpoints if e.p95_ms is not None],
        p50_ms=stats.total.p50_ms,
        p99_ms=stats.total.p99_ms,
        max_ms=stats.total.max_ms,
        users=stats.peak_users,
        requests_per_s=round(stats.total.rps, 1),
        endpoints=[e.to_json() for e in stats.endpoints],
        resolution=RESOLUTION_NOTE,
        timeline=stats.timeline,
        load=load_run.plan.offered_load,
        summary=f"P95 {p95:.0f} ms, max {stats.total.max_ms:.0f} ms at {load_run.plan.offered_load}"
        if p95 is not None
        else "",
    )
    server = _server_view(harness_run, load_run, verdict)
    verdict.summary += server
    assert p95 is not None, "no API request was measured"
    requests = stats.total.requests
    assert p95 < limit, (
        f"P95 {p95:.0f} ms over {requests} requests (limit {limit:.0f} ms) at "
        f"{load_run.plan.offered_load}{server}"
    )
