"""SC-007: the service answered ``/ready`` for the required share of the whole run."""

from __future__ import annotations

import pytest

from harness.verdicts import Sample
from scenarios.helpers import wait_for

CRITERION = "SC-007"
WINDOW_S = 1.0


@pytest.mark.harness_final
def test_available_over_the_whole_run(harness_run, profile, verdict) -> None:
    prober = harness_run.prober
    if prober is None:
        pytest.skip("no availability prober ran")
    wanted = int(profile.get("sc007", "min_probes"))
    # Judge over at least min_probes probes: a short run is observed a little longer.
    wait_for(lambda: len(prober.probes) >= wanted, timeout=wanted * prober.interval * 3 + 5)
    probes = list(prober.probes)
    assert len(probes) >= wanted, f"only {len(probes)} probes were answered or timed out"
    required = float(profile.get("sc007", "min_ratio"))
    ratio = sum(p.ok for p in probes) / len(probes)
    windows: dict[int, list[bool]] = {}
    for probe in probes:
        windows.setdefault(int(probe.at // WINDOW_S), []).append(probe.ok)
    samples = [Sample(f"second{w}", sum(oks) / len(oks)) for w, oks in sorted(windows.items())]
    failures = [p for p in probes if not p.ok]
    verdict.record(measured=ratio, threshold=required, samples=samples, probes=len(probes),
                   failed_probes=len(failures),
                   statuses=sorted({p.status for p in failures}),
                   retried_probes=sum(p.retried for p in probes))  # fmt: skip
    assert ratio >= required, f"{ratio:.4%} of {len(probes)} probes succeeded (need {required:.1%})"
