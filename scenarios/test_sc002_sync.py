"""SC-002: a change made in one client reaches every other open client (SSE) within the limit,
at idle and under load.

Several tabs of one user subscribe, spread so that every replica the target names (each worker
locally, each pod on a cluster) serves at least one; M writes are made; for every tab and write
the latency is receipt minus the write's acknowledgement (0 when the event arrived before the
answer; see ``harness.probes.sync``). Measured once at idle and once more while the SC-008 load
holds its peak: real-time sync is a promise about a busy service. Missed events, or a replica no
tab reached, fail the criterion whatever the latency. A tab that reconnects with Last-Event-ID
must receive exactly what it missed. The measured value is the slowest delivery of both runs.
"""

from __future__ import annotations

from harness.probes.sse import SseTab, open_tabs
from harness.probes.sync import (
    SPREAD_S,
    SyncInBackground,
    SyncResult,
    created_titles,
    measure_sync,
)
from harness.run import Recorder, Run
from harness.verdicts import Sample
from scenarios.helpers import client, fresh_user, percentile, streamed_replicas, wait_for

CRITERION = "SC-002"


def _record(verdict: Recorder, result: SyncResult, limit: float, where: str) -> None:
    """Add one run's deliveries to the verdict; the slowest of all runs is the measured value."""
    latencies = [s.value for s in result.samples]
    before = verdict.verdict.measured
    shown = f"slowest {result.slowest:.2f} s" if latencies else "nothing arrived"
    workers = f"{result.covered} worker" + ("s" if result.covered > 1 else "")
    covered = f", {result.tabs} tabs on {workers}" if result.covered else ""
    said = f"{where.replace('_', ' ')}: {shown} of {result.deliveries} deliveries{covered}"
    verdict.record(
        summary=f"{verdict.summary}; {said}" if verdict.summary else said,
        measured=max(result.slowest, before if before is not None else 0.0),
        threshold=limit,
        samples=[Sample(f"{where}: {s.label}", s.value) for s in result.samples],
        **{
            f"{where}_p50_s": percentile(latencies, 50),
            f"{where}_p95_s": percentile(latencies, 95),
            f"{where}_slowest_s": result.slowest if latencies else None,
            f"{where}_missed": result.missed,
            f"{where}_deliveries": result.deliveries,
            f"{where}_uncovered": result.uncovered,
            f"{where}_tabs": result.per_tab(),
        },
    )


def _missed(result: SyncResult, where: str) -> str:
    return f"{where}: {result.missed} of {result.deliveries} deliveries never arrived"


def _uncovered(result: SyncResult, where: str) -> str:
    return (
        f"{where}: no stream reached replica {', '.join(result.uncovered)} in "
        f"{SPREAD_S:g} s of new connections (tabs on {result.covered} of "
        f"{result.covered + len(result.uncovered)} replicas)"
    )


def _late(result: SyncResult, limit: float, where: str) -> str:
    said = f"{where}: slowest delivery took {result.slowest:.2f} s (limit {limit} s)"
    tabs = result.per_tab()
    late = [t for t in tabs if (t["slowest_s"] or 0.0) > limit]  # type: ignore[operator]
    workers = sorted({str(t["worker"]) for t in late if t["worker"]})
    if not workers:
        return said
    return f"{said}; {len(late)} of {len(tabs)} tabs late, on {', '.join(workers)}"


def test_every_change_reaches_every_tab_in_time(
    harness_run: Run, deployment, profile, verdict
) -> None:
    limit = float(profile.get("sc002", "max_s"))
    result = measure_sync(
        deployment,
        fresh_user("sc002"),
        tabs=int(profile.get("sc002", "subscribers")),
        writes=int(profile.get("sc002", "writes")),
        wait_s=limit + 5,
        replicas=streamed_replicas(harness_run, deployment)(),
    )
    _record(verdict, result, limit, "idle")
    assert result.missed == 0, _missed(result, "idle")
    assert not result.uncovered, _uncovered(result, "idle")
    assert result.slowest <= limit, _late(result, limit, "idle")


def test_every_change_reaches_every_tab_under_load(
    sync_under_load: SyncInBackground, load_run, profile, verdict
) -> None:
    limit = float(profile.get("sc002", "max_s"))
    verdict.note(load=load_run.plan.offered_load)
    assert sync_under_load.started.is_set(), "the load ended before its peak: nothing measured"
    assert sync_under_load.error is None, f"under load: {sync_under_load.error}"
    assert sync_under_load.result is not None, "under load: the sync probe did not finish"
    result = sync_under_load.result
    _record(verdict, result, limit, "under_load")
    assert result.missed == 0, _missed(result, "under_load")
    assert not result.uncovered, _uncovered(result, "under_load")
    assert result.slowest <= limit, _late(result, limit, "under_load")


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
    got = wait_for(lambda: len(titles := created_titles(back)) >= len(away) and titles, timeout=10)
    back.close()
    replayed = list((got or {}).keys())
    verdict.note(resume_missed=len(away), resume_replayed=len(replayed))
    assert replayed == away, f"after reconnecting got {replayed}, expected {away}"
