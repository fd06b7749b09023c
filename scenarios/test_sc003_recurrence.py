"""SC-003: completing a recurring task makes its next occurrence visible within the limit.

Each completion must bring exactly one next occurrence, due one period after the completed one:
a second occurrence, or one on the wrong day, fails the criterion whatever the latency.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from scenarios.helpers import client, fresh_user, record_latencies, wait_for

CRITERION = "SC-003"
RULE = "FREQ=DAILY;COUNT=5"
PERIOD = timedelta(days=1)


def _open_tasks(api) -> list[dict]:  # type: ignore[no-untyped-def]
    return api.get("/api/tasks", params={"status": "open", "limit": 200}).json()["items"]


def test_next_occurrence_appears_in_time(deployment, profile, verdict) -> None:
    limit = float(profile.get("sc003", "max_s"))
    count = int(profile.get("sc003", "tasks"))
    user = fresh_user("sc003")
    due = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    completed: dict[int, float] = {}
    found: dict[int, float] = {}
    with client(deployment, user) as api:
        for i in range(count):
            body = {"title": f"recurring {i}", "due_at": due.isoformat(), "recurrence": RULE}
            task = api.post("/api/tasks", json=body).raise_for_status().json()
            api.post(f"/api/tasks/{task['id']}/complete").raise_for_status()
            completed[task["id"]] = time.monotonic()

        def look() -> bool:
            page = _open_tasks(api)
            now = time.monotonic()
            for task in page:
                series = task["series_id"]
                if series in completed and task["id"] != series and series not in found:
                    found[series] = now - completed[series]
            return len(found) >= count

        wait_for(look, timeout=limit + 5)
        occurrences = [t for t in _open_tasks(api) if t["series_id"] in completed]
    per_series = Counter(t["series_id"] for t in occurrences)
    extra = sum(n - 1 for n in per_series.values() if n > 1)
    wrong_day = [
        t["id"] for t in occurrences if datetime.fromisoformat(t["due_at"]) != due + PERIOD
    ]
    slowest, missing = record_latencies(
        verdict,
        found,
        expected=count,
        limit=limit,
        label="series",
        extra_occurrences=extra,
        wrong_day=len(wrong_day),
    )
    assert missing == 0, f"{missing} of {count} next occurrences never appeared"
    assert extra == 0, f"{extra} completions brought more than one next occurrence"
    assert not wrong_day, f"next occurrences not due one day later: tasks {wrong_day[:5]}"
    assert slowest <= limit, f"slowest next occurrence took {slowest:.1f} s (limit {limit} s)"
