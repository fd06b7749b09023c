"""SC-002: a change made in one client reaches every other open client (SSE) within the limit.

Several tabs of one user subscribe; M writes are made; for every tab and write the latency is
receipt minus the write's acknowledgement (0 when the event arrived before the answer). Missed
events fail the criterion whatever the latency. A tab that reconnects with Last-Event-ID must
receive exactly what it missed. Writes are matched by their unique titles, not by ids.
"""

from __future__ import annotations

import time

from harness.probes.sse import SseTab, open_tabs
from harness.verdicts import Sample
from scenarios.helpers import client, fresh_user, percentile, wait_for

CRITERION = "SC-002"


def _created(tab: SseTab) -> dict[str, float]:
    """Receipt time of each task.created, by title."""
    return {
        r.event["data"]["task"]["title"]: r.at for r in tab.snapshot() if r.type == "task.created"
    }


def test_every_change_reaches_every_tab_in_time(deployment, profile, verdict) -> None:
    limit = float(profile.get("sc002", "max_s"))
    writes = int(profile.get("sc002", "writes"))
    user = fresh_user("sc002")
    token = deployment.token(user)
    tabs = open_tabs(deployment.base_url, token, int(profile.get("sc002", "subscribers")))
    acked: dict[str, float] = {}  # title -> when the write was acknowledged
    try:
        time.sleep(0.3)  # let every tab's subscription settle
        with client(deployment, user) as api:
            for i in range(writes):
                title = f"{user} write {i}"
                api.post("/api/tasks", json={"title": title}).raise_for_status()
                acked[title] = time.monotonic()
        wait_for(lambda: all(acked.keys() <= _created(t).keys() for t in tabs), timeout=limit + 5)
    finally:
        for tab in tabs:
            tab.close()
    samples, missed = [], 0
    for n, tab in enumerate(tabs):
        seen = _created(tab)
        for i, (title, ack) in enumerate(acked.items()):
            if title in seen:
                samples.append(Sample(f"tab{n}/write{i}", max(0.0, seen[title] - ack)))
            else:
                missed += 1
    latencies = [s.value for s in samples]
    slowest = max(latencies, default=float("inf"))
    verdict.record(
        measured=slowest,
        threshold=limit,
        samples=samples,
        p50_s=percentile(latencies, 50),
        p95_s=percentile(latencies, 95),
        missed=missed,
        deliveries=writes * len(tabs),
    )
    assert missed == 0, f"{missed} of {writes * len(tabs)} deliveries never arrived"
    assert slowest <= limit, f"slowest delivery took {slowest:.2f} s (limit {limit} s)"


def test_a_reconnecting_tab_receives_what_it_missed(deployment, verdict) -> None:
    user = fresh_user("sc002-resume")
    (tab,) = open_tabs(deployment.base_url, deployment.token(user), 1)
    away = [f"away {i}" for i in range(5)]
    with client(deployment, user) as api:
        api.post("/api/tasks", json={"title": "seen"}).raise_for_status()
        seen = wait_for(lambda: [r for r in tab.snapshot() if r.type == "task.created"], timeout=10)
        tab.close()
        assert seen, "the first event never arrived"
        for title in away:
            api.post("/api/tasks", json={"title": title}).raise_for_status()
    back = SseTab(deployment.base_url, deployment.token(user), last_event_id=seen[0].id)
    back.start()
    got = wait_for(lambda: len(_created(back)) >= len(away) and _created(back), timeout=10)
    back.close()
    replayed = list((got or {}).keys())
    verdict.note(resume_missed=len(away), resume_replayed=len(replayed))
    assert replayed == away, f"after reconnecting got {replayed}, expected {away}"
