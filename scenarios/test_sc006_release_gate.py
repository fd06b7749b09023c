"""SC-006: the whole validation (the release gate) finishes within the limit."""

from __future__ import annotations

import time

import pytest

CRITERION = "SC-006"


@pytest.mark.harness_final
def test_release_gate_is_fast_enough(harness_run, profile, verdict) -> None:
    limit = float(profile.get("sc006", "max_s"))
    elapsed = time.monotonic() - harness_run.started
    verdict.record(measured=elapsed, threshold=limit)
    assert elapsed <= limit, f"the run took {elapsed:.0f} s (limit {limit:.0f} s)"
