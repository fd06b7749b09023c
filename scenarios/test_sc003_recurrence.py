"""SC-003: completing a recurring task makes its next occurrence visible within the limit."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from harness.verdicts import Sample
from scenarios.helpers import client, fresh_user, percentile

CRITERION = "SC-003"


def test_next_occurrence_appears_in_time(deployment, profile, verdict) -> None:
    limit = float(profile.get("sc003", "max_s"))
    count = int(profile.get("sc003", "tasks"))
    user = fresh_user("sc003")
    due = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    completed: dict[int, float] = {}
    found: dict[int, float] = {}
    with client(deployment, user) as api:
        for i in range(count):
            body = {"title": f"recurring {i}", "due_at": due, "recurrence": "FREQ=DAILY;COUNT=5"}
            task = api.post("/api/tasks", json=body).raise_for_status().json()
            api.post(f"/api/tasks/{task['id']}/complete").raise_for_status()
            completed[task["id"]] = time.monotonic()
        deadline = time.monotonic() + limit + 5
        while len(found) < count and time.monotonic() < deadline:
            page = api.get("/api/tasks", params={"status": "open", "limit": 200}).json()["items"]
            now = time.monotonic()
            for task in page:
                series = task["series_id"]
                if series in completed and task["id"] != series and series not in found:
                    found[series] = now - completed[series]
            time.sleep(0.2)
    latencies = list(found.values())
    missing = count - len(found)
    slowest = max(latencies, default=float("inf"))
    samples = [Sample(f"series{s}", v) for s, v in found.items()]
    verdict.record(measured=slowest, threshold=limit, samples=samples,
                   p50_s=percentile(latencies, 50), missing=missing)  # fmt: skip
    assert missing == 0, f"{missing} of {count} next occurrences never appeared"
    assert slowest <= limit, f"slowest next occurrence took {slowest:.1f} s (limit {limit} s)"
