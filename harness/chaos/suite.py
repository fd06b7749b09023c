"""``python -m harness chaos``: every experiment in ``chaos/`` (or those named), each against a
fresh stack of the target, with one report whose SC-010 verdict covers them all.

On the local target the broker-outage experiment gets a stack on the Redis bus with a Redis
server of its own, and kill-consumers-under-load a stack with its roles run apart; an
experiment the target cannot run is reported as skipped, with the reason.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from harness.chaos.runner import ChaosOutcome, run_chaos, unsupported
from harness.criteria import CRITERIA
from harness.options import Options
from harness.profile import Profile
from harness.run import build_target
from harness.verdicts import Report, Verdict

__all__ = ["run_suite"]

WRITER_PREFIX = "chaos-writer"


def _problems(outcome: ChaosOutcome) -> list[str]:
    check = outcome.check
    problems = []
    if outcome.status != "completed" or outcome.deviated:
        problems.append(f"status {outcome.status}, steady state deviated: {outcome.deviated}")
    problems += [f"activity failed: {failure}" for failure in outcome.failed]
    if not check.clean:
        problems.append(
            f"{check.lost} lost, {len(check.undelivered)} undelivered, "
            f"{check.duplicates} duplicated"
        )
    if check.ledger.acknowledged == 0:
        problems.append("no write was acknowledged")
    return problems


def run_suite(
    options: Options, profile: Profile, experiments: list[str], report_dir: Path, console: Console
) -> Report:
    started = datetime.now(UTC)
    criterion = CRITERIA["SC-010"]
    verdict = Verdict(criterion.id, criterion.title, "pass", threshold=0, unit=criterion.unit)
    configuration = {
        "cycles": int(profile.get("sc010", "cycles")),
        "every_s": float(profile.get("sc010", "every_s")),
    }
    writers = int(profile.get("sc010", "writers"))
    reasons, skipped, bad, ran = [], [], 0, 0
    for name in experiments:
        run_options = options
        if name == "broker-outage" and options.target == "local" and not options.redis_url:
            run_options = dataclasses.replace(options, bus="redis")
        if name == "kill-consumers-under-load" and options.target == "local":
            run_options = dataclasses.replace(options, split_roles=True)
        target = build_target(run_options, profile)
        reason = unsupported(name, target)
        if reason:
            skipped.append(reason)
            console.print(f"chaos: {name}: skipped ({reason})")
            continue
        console.print(f"chaos: {name} on the {target.name} target ...")
        deployment = target.up()
        try:
            users = [f"{WRITER_PREFIX}-{name}-{n}" for n in range(writers)]
            outcome = run_chaos(
                target,
                deployment,
                name,
                report_dir / "chaos",
                users=users,
                configuration=configuration,
            )
        finally:
            target.down()
        ran += 1
        verdict.details[name] = outcome.summary()
        check = outcome.check
        bad += check.lost + len(check.undelivered) + check.duplicates
        problems = _problems(outcome)
        reasons += [f"{name}: {p}" for p in problems]
        result = "FAILED" if problems else "ok"
        console.print(
            f"chaos: {name}: {outcome.kills} kills, {check.ledger.acknowledged} "
            f"acknowledged, {check.lost} lost, {len(check.undelivered)} undelivered, "
            f"{check.duplicates} duplicates: {result}"
        )
    verdict.measured = bad
    if reasons:
        verdict.verdict, verdict.reason = "fail", "; ".join(reasons)
    elif ran == 0:
        verdict.verdict, verdict.reason = "skip", "; ".join(skipped) or "no experiment ran"
    elif skipped:
        verdict.reason = "skipped: " + "; ".join(skipped)
    artifacts = {
        f"Chaos Toolkit journal ({name})": f"chaos/{name}.journal.json"
        for name in experiments
        if name in verdict.details
    }
    return Report(
        target=options.target,
        profile=profile.name,
        started_at=started,
        finished_at=datetime.now(UTC),
        criteria=[verdict],
        details={"artifacts": artifacts, "experiments": experiments},
    )
