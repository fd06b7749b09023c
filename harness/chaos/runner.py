"""Run one experiment of ``chaos/`` for real through chaoslib, save its journal, and judge the
writes it made (SC-010)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.chaos.check import DataLossCheck
from harness.chaos.session import ChaosSession, registered
from harness.chaos.writers import Writers
from harness.errors import UsageError
from harness.targets import Deployment, Target

__all__ = ["EXPERIMENTS", "ChaosOutcome", "experiment_path", "run_chaos"]

EXPERIMENTS_DIR = Path("chaos")
EXPERIMENTS = (
    "kill-replica-under-load",
    "crash-whole-service",
    "broker-outage",
    "kill-consumers-under-load",
    "poison-event-under-load",
)
NEEDS = {  # what each experiment needs of the target
    "kill-replica-under-load": "kill",
    "crash-whole-service": "crash",
    "broker-outage": "broker",
    "kill-consumers-under-load": "crash",
    "poison-event-under-load": "database",
}


@dataclass(frozen=True)
class ChaosOutcome:
    experiment: str
    status: str  # the journal's: completed, failed, aborted, interrupted
    deviated: bool  # the steady state did not hold after the method
    kills: int
    check: DataLossCheck
    failed: list[str]  # activities of the method that failed (a fault not injected, a probe)
    journal: Path
    events: list[str]

    def summary(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "status": self.status,
            "deviated": self.deviated,
            "kills": self.kills,
            **self.check.summary(),
            "journal": self.journal.name,
            "failed_activities": self.failed,
        }


def experiment_path(name: str) -> Path:
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        path = base / EXPERIMENTS_DIR / f"{name}.json"
        if path.is_file():
            return path
    raise UsageError(f"no experiment {name!r} in {EXPERIMENTS_DIR}/: use one of {EXPERIMENTS}")


def unsupported(name: str, target: Target) -> str | None:
    """Why ``target`` cannot run experiment ``name``, or None."""
    need = NEEDS.get(name)
    if need and not getattr(target.capabilities, need):
        return f"the {target.name} target cannot {need} (experiment {name})"
    return None


def run_chaos(
    target: Target,
    deployment: Deployment,
    name: str,
    directory: Path,
    *,
    users: list[str],
    configuration: dict[str, Any] | None = None,
) -> ChaosOutcome:
    """Run experiment ``name`` against the target; its journal goes to ``directory``."""
    try:
        from chaoslib.experiment import run_experiment
        from chaoslib.loader import load_experiment
    except ImportError:
        raise UsageError("Chaos Toolkit is not installed: pip install -e '.[chaos]'") from None
    experiment = load_experiment(str(experiment_path(name)))
    session = ChaosSession(target, deployment, Writers(deployment, users))
    logging.getLogger("chaostoolkit").setLevel(logging.WARNING)
    with registered(session) as names:
        experiment.setdefault("configuration", {}).update(names)  # the activities find it there
        journal = run_experiment(experiment, settings={}, experiment_vars=(configuration or {}, {}))
    check = session.judged()  # stops the writers also when the method failed before that
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.journal.json"
    path.write_text(json.dumps(journal, indent=2, default=str), encoding="utf-8")
    return ChaosOutcome(
        experiment=name,
        status=str(journal.get("status")),
        deviated=bool(journal.get("deviated")),
        kills=session.kills,
        check=check,
        failed=[
            f"{run['activity']['name']}: {run.get('exception', [''])[-1].strip()}"
            for run in journal.get("run", [])
            if run.get("status") != "succeeded"
        ],
        journal=path,
        events=list(session.events),
    )
