"""SC-005: the local stack goes from start to ready within the limit."""

from __future__ import annotations

import pytest

CRITERION = "SC-005"


def test_local_stack_is_ready_in_time(harness_run, deployment, profile, verdict) -> None:
    if not harness_run.target.capabilities.start_timing or deployment.ready_seconds is None:
        pytest.skip(f"start-up time applies to the local target, not {deployment.target}")
    limit = float(profile.get("sc005", "max_s"))
    verdict.record(measured=deployment.ready_seconds, threshold=limit)
    assert deployment.ready_seconds <= limit, f"ready after {deployment.ready_seconds:.1f} s"
