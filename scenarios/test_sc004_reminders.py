"""SC-004: a reminder's notification appears within the limit after its remind_at.

Reminders later than the limit are waited for as long again, so that the report says how late
they were (not only that they were late); one that never comes is missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scenarios.helpers import client, fresh_user, record_latencies, wait_for

CRITERION = "SC-004"


def test_reminders_arrive_on_time(deployment, profile, verdict) -> None:
    limit = float(profile.get("sc004", "max_s"))
    count = int(profile.get("sc004", "reminders"))
    lead = float(profile.get("sc004", "lead_s"))
    user = fresh_user("sc004")
    due: dict[int, datetime] = {}
    lateness: dict[int, float] = {}
    with client(deployment, user) as api:
        for i in range(count):
            remind_at = datetime.now(UTC) + timedelta(seconds=lead + i * 0.2)
            body = {"title": f"remind me {i}", "remind_at": remind_at.isoformat()}
            due[api.post("/api/tasks", json=body).raise_for_status().json()["id"]] = remind_at

        def look() -> bool:
            items = api.get("/api/notifications", params={"limit": 200}).json()["items"]
            seen_at = datetime.now(UTC)
            for note in items:
                task_id = note["task_id"]
                if task_id in due and task_id not in lateness:
                    lateness[task_id] = max(0.0, (seen_at - due[task_id]).total_seconds())
            return len(lateness) >= count

        wait_for(look, timeout=lead + count * 0.2 + 2 * limit + 5, every=0.25)
    latest, missing = record_latencies(verdict, lateness, expected=count, limit=limit, label="task")
    assert missing == 0, f"{missing} of {count} reminders never produced a notification"
    assert latest <= limit, f"latest reminder came {latest:.1f} s after its time (limit {limit} s)"
