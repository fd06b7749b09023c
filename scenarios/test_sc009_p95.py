"""SC-009: the API's P95 response time under the SC-008 load stays under the threshold.

Total P95 over every API request of the run (the SSE stream's rows are reported, not counted),
from Locust's response-time histograms, which are rounded (see ``RESOLUTION_NOTE``).
"""

from __future__ import annotations

from harness.load import LoadRun
from harness.locust_stats import RESOLUTION_NOTE
from harness.verdicts import Sample

CRITERION = "SC-009"


def test_p95_under_load(load_run: LoadRun, profile, verdict) -> None:
    stats = load_run.stats
    limit = float(profile.get("sc009", "p95_ms"))
    p95 = stats.total.p95_ms
    verdict.record(
        measured=p95 if p95 is not None else float("inf"), threshold=limit,
        samples=[Sample(e.name, e.p95_ms) for e in stats.endpoints if e.p95_ms is not None],
        p50_ms=stats.total.p50_ms, p99_ms=stats.total.p99_ms, max_ms=stats.total.max_ms,
        users=stats.peak_users, requests_per_s=round(stats.total.rps, 1),
        endpoints=[e.to_json() for e in stats.endpoints], resolution=RESOLUTION_NOTE,
        timeline=stats.timeline,
        load=load_run.plan.offered_load,
        summary=f"P95 {p95:.0f} ms, max {stats.total.max_ms:.0f} ms at "
                f"{load_run.plan.offered_load}" if p95 is not None else "",
    )  # fmt: skip
    assert p95 is not None, "no API request was measured"
    requests = stats.total.requests
    assert p95 < limit, (
        f"P95 {p95:.0f} ms over {requests} requests (limit {limit:.0f} ms) at "
        f"{load_run.plan.offered_load}"
    )
