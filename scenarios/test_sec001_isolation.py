"""SEC-001: one user never reads, lists, streams, audits or changes another's data.

An owner writes marked tasks; an intruder with a valid token of its own tries the owner's ids
on every task route, the owner's cursors, tag and Idempotency-Key, its own lists, audit,
notifications and event stream (live and replayed from ``Last-Event-ID: 0``); see
``harness.probes.isolation``. The measured value is the number of leaks; any leak fails.
"""

from __future__ import annotations

from harness.probes.isolation import probe_isolation
from scenarios.helpers import fresh_user

CRITERION = "SEC-001"


def test_no_user_reaches_another_users_data(deployment, profile, verdict) -> None:
    wait_s = float(profile.get("sec001", "wait_s"))
    result = probe_isolation(
        deployment, fresh_user("sec001-owner"), fresh_user("sec001-intruder"), timeout_s=wait_s
    )
    verdict.record(
        measured=len(result.leaks),
        threshold=0,
        checks=len(result.checks),
        leaks=result.leaks,
        not_exercised=result.not_exercised,
    )
    assert not result.leaks, (
        f"{len(result.leaks)} of {len(result.checks)} checks leaked: {'; '.join(result.leaks[:3])}"
    )
    assert not result.not_exercised, f"not exercised: {'; '.join(result.not_exercised)}"
