"""SC-007: the service answered ``/ready`` for the required share of the whole run."""

from __future__ import annotations

import pytest

from harness.verdicts import Sample

CRITERION = "SC-007"
WINDOW_S = 1.0


@pytest.mark.harness_final
def test_available_over_the_whole_run(harness_run, profile, verdict) -> None:
    prober = harness_run.prober
    probes = list(prober.probes) if prober else []
    if len(probes) < 10:
        pytest.skip("the run was too short to measure availability (fewer than 10 probes)")
    required = float(profile.get("sc007", "min_ratio"))
    ratio = sum(p.ok for p in probes) / len(probes)
    windows: dict[int, list[bool]] = {}
    for probe in probes:
        windows.setdefault(int(probe.at // WINDOW_S), []).append(probe.ok)
    samples = [Sample(f"second{w}", sum(oks) / len(oks)) for w, oks in sorted(windows.items())]
    failures = [p for p in probes if not p.ok]
    verdict.record(measured=ratio, threshold=required, samples=samples, probes=len(probes),
                   failed_probes=len(failures),
                   statuses=sorted({p.status for p in failures}))  # fmt: skip
    assert ratio >= required, f"{ratio:.4%} of {len(probes)} probes succeeded (need {required:.1%})"
