"""SC-008: 1000 concurrent users are served with a failure ratio under 0.1 %.

The Locust suite ramps to the profile's users, holds them for ``hold_s`` and ramps down; the
criterion needs the peak reached and held (per Locust's per-second history), no task lost (one
its creator was told exists, a 201, that later answers 404 to that creator: data loss, with
zero tolerance, not a failed request) and the share of failed API requests under
``max_failure_ratio``.
"""

from __future__ import annotations

from harness.load import LoadRun
from harness.verdicts import Sample

CRITERION = "SC-008"


def test_concurrent_users_are_served(load_run: LoadRun, profile, verdict) -> None:
    stats, plan = load_run.stats, load_run.plan
    allowed = float(profile.get("sc008", "max_failure_ratio"))
    samples = [
        Sample(e.name, e.failures / e.requests if e.requests else 0.0)
        for e in stats.endpoints
        if e.method != "SSE"
    ]
    verdict.record(
        measured=stats.failure_ratio,
        threshold=allowed,
        samples=samples,
        users=stats.peak_users,
        users_wanted=plan.users,
        held_s=stats.held_s,
        hold_wanted_s=plan.hold_s,
        requests=stats.total.requests,
        failures=stats.total.failures,
        lost=stats.lost,
        requests_per_s=round(stats.total.rps, 1),
        failure_kinds=[
            f"{f['Method']} {f['Name']}: {f['Error']} x{f['Occurrences']}"
            for f in stats.failures[:10]
        ],
        locust_cpu_warnings=load_run.cpu_warnings,
        load=plan.offered_load,
        timeline=stats.timeline,
        summary=f"{plan.offered_load}: {stats.total.requests} requests, "
        f"{stats.total.rps:.0f}/s, {stats.failure_ratio:.3%} failed",
    )
    assert stats.peak_users >= plan.users, f"only {stats.peak_users} of {plan.users} users ran"
    assert plan.peak_held(stats.held_s), (
        f"{plan.users} users held {stats.held_s:.0f} s of {plan.hold_s:.0f} s"
    )
    assert stats.lost == 0, (
        f"{stats.lost} created tasks answered 404 to the user who created them (acknowledged "
        f"writes lost) at {plan.offered_load}"
    )
    assert stats.failure_ratio < allowed, (
        f"{stats.failure_ratio:.3%} of {stats.total.requests} requests failed "
        f"(allowed < {allowed:.1%}) at {plan.offered_load}"
    )
