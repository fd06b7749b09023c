"""SC-007: the service was available for the required share of the whole run's time.

``GET /ready`` every ``interval_s`` on a fixed schedule, from the start to the end of the run
(the load stage and the chaos included); each probe covers the interval after it was due, so
availability is the time not inside an outage over the time probed. The reason names the
longest outage: when it began, how long it lasted and what the failed probes got.

The run is judged over at least as many probes as the required share can tell apart: 99.9 %
over 985 probes would allow no failed probe at all (one is 0.1015 %), over 1000 it allows one,
which is what 99.9 % means. A shorter run is observed longer, unless its failed probes have
already decided it.

When a Prometheus scraped the run, the server's view is recorded beside the prober's: the share
of requests answered without a 5xx and of scrapes that found the service up. With
``--prometheus-url URL --slo-window 7d`` the deployment's own availability over that window is
judged too (how SREs judge 99.9 %): both views must meet the required share.
"""

from __future__ import annotations

import time

import pytest

from harness import server_metrics
from harness.probes.availability import Judgement, failures_allowed, probes_needed
from harness.run import Recorder, Run
from harness.verdicts import Sample
from scenarios.helpers import wait_for

CRITERION = "SC-007"
WINDOW_S = 1.0


def _said(judgement: Judgement) -> str:
    longest = judgement.longest
    said = (
        f"unavailable {judgement.unavailable_s:.1f} s of {judgement.total_s:.1f} s "
        f"({judgement.ratio:.3%})"
    )
    if longest is None:
        return said
    return (
        f"{said}; longest outage {longest.duration_s:.1f} s from {longest.start_s:.1f} s "
        f"into the run ({longest.answers})"
    )


def _server_view(
    harness_run: Run, verdict: Recorder
) -> tuple[server_metrics.ServerAvailability, str] | None:
    """The server's availability over the run (or ``--slo-window``), recorded, and what it
    says; None without a Prometheus."""
    metrics, window = harness_run.metrics, harness_run.options.slo_window
    if metrics is None:
        return None
    now, since = time.time(), harness_run.metrics_since
    view = server_metrics.availability(metrics, window=window or now - since, at=now)
    into_run = since - harness_run.started_at.timestamp()
    over = window or (
        f"the run from its first scrape, {into_run:.0f} s in" if into_run >= 1 else "the run"
    )
    verdict.note(
        server_ratio=view.ratio,
        server_requests=round(view.requests),
        server_up_ratio=view.up_ratio,
        server_window=over,
    )
    return view, _server_said(view, over)


def _server_said(view: server_metrics.ServerAvailability, over: str) -> str:
    ratio = (
        "no request of the service in Prometheus (is it scraped, by a job matching taskora?)"
        if view.ratio is None
        else f"{view.ratio:.3%} of requests without a 5xx"
    )
    up = "" if view.up_ratio is None else f", up in {view.up_ratio:.3%} of scrapes"
    return f"server over {over}: {ratio}{up}"


@pytest.mark.harness_final
def test_available_over_the_whole_run(harness_run, profile, verdict) -> None:
    prober = harness_run.prober
    if prober is None:
        pytest.skip("no availability prober ran")
    required = float(profile.get("sc007", "min_ratio"))
    wanted = max(int(profile.get("sc007", "min_probes")), probes_needed(required))
    allowed = failures_allowed(wanted, required)
    wait_for(
        lambda: (
            len(prober.probes) >= wanted or sum(not p.ok for p in list(prober.probes)) > allowed
        ),
        timeout=wanted * prober.interval * 3 + 5,
    )
    probes = sorted(prober.probes, key=lambda p: p.at)
    failed = sum(not p.ok for p in probes)
    assert len(probes) >= wanted or failed > allowed, (
        f"only {len(probes)} probes answered or timed out"
    )
    judgement = prober.judged()
    windows: dict[int, list[bool]] = {}
    for probe in probes:
        windows.setdefault(int(probe.at // WINDOW_S), []).append(probe.ok)
    samples = [Sample(f"second{w}", sum(oks) / len(oks)) for w, oks in sorted(windows.items())]
    longest = judgement.longest
    slowest = max(probes, key=lambda p: p.latency_s)
    verdict.record(
        measured=judgement.ratio,
        threshold=required,
        samples=samples,
        summary=_said(judgement),
        probes=len(probes),
        failed_probes=failed,
        retried_probes=sum(p.retried for p in probes),
        slowest_probe_s=slowest.latency_s,
        slowest_probe_at_s=slowest.at,
        unavailable_s=judgement.unavailable_s,
        total_s=judgement.total_s,
        outages=len(judgement.outages),
        longest_outage_s=longest.duration_s if longest else 0.0,
        longest_outage_at_s=longest.start_s if longest else None,
        longest_outage_answers=longest.answers if longest else None,
    )
    server = _server_view(harness_run, verdict)
    beside = "" if server is None else f"; {server[1]}"
    verdict.summary += beside
    assert judgement.meets(required), f"{_said(judgement)} (need {required:.1%}){beside}"
    if server is not None and harness_run.options.slo_window:  # the deployment's SLO window
        view, said = server
        assert view.ratio is not None and view.ratio >= required, f"{said} (need {required:.1%})"
