"""SC-010: no acknowledged write or event is lost while replicas are killed.

Runs the Chaos Toolkit experiment ``chaos/kill-replica-under-load.json`` for real (``cycles``
kills, one every ``every_s`` seconds, ``writers`` ledger writers), then checks: lost
acknowledged writes = 0, every acknowledged write's event reached every consumer (audit trail,
next occurrences) = 0 missing, duplicate effects = 0, and the steady state held after.
"""

from __future__ import annotations

import pytest

from harness.chaos.runner import run_chaos, unsupported
from scenarios.helpers import fresh_user

CRITERION = "SC-010"
EXPERIMENT = "kill-replica-under-load"


def test_no_loss_while_replicas_are_killed(harness_run, deployment, profile, verdict) -> None:
    reason = unsupported(EXPERIMENT, harness_run.target)
    if reason:
        pytest.skip(reason)
    cycles = int(profile.get("sc010", "cycles"))
    writers = [fresh_user("sc010") for _ in range(int(profile.get("sc010", "writers")))]
    configuration = {"cycles": cycles, "every_s": float(profile.get("sc010", "every_s"))}
    outcome = run_chaos(
        harness_run.target,
        deployment,
        EXPERIMENT,
        harness_run.report_dir / "chaos",
        users=writers,
        configuration=configuration,
    )
    harness_run.artifacts[f"Chaos Toolkit journal ({EXPERIMENT})"] = f"chaos/{outcome.journal.name}"
    check = outcome.check
    bad = check.lost + len(check.undelivered) + check.duplicates + len(check.ledger.unexpected)
    verdict.record(
        measured=bad, threshold=0, cycles=cycles, **outcome.summary(), actions=outcome.events
    )
    assert outcome.status == "completed", f"the experiment {outcome.status}: see its journal"
    assert outcome.kills >= cycles, f"only {outcome.kills} of {cycles} kills happened"
    assert check.ledger.acknowledged > 0, "no write was acknowledged during the experiment"
    # before the steady state, whose last probe is this same check: the reason names the loss
    assert check.clean, (
        f"{check.lost} lost, {len(check.undelivered)} undelivered, {check.duplicates} duplicated "
        f"of {check.ledger.acknowledged} acknowledged writes ({outcome.kills} kills): "
        f"{'; '.join(check.summary()['examples'][:3])}"
    )
    assert not outcome.deviated, "the steady state did not hold after the kills"
