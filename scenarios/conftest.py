"""The scenarios run under the harness's pytest plugin (targets, profiles, verdicts, reports).

Run them all with ``python -m harness validate`` (or ``nox -s validate``), or one with
``pytest scenarios/test_sc002_sync.py --target local``.
"""

from __future__ import annotations

import pytest

from harness.load import LoadPlan, LoadRun, run_load
from harness.probes.sync import SyncInBackground
from harness.run import Run
from harness.targets import Deployment
from scenarios.helpers import fresh_user, streamed_replicas

pytest_plugins = ["harness.pytest_plugin"]


@pytest.fixture(scope="session")
def _load_stage(
    request: pytest.FixtureRequest, harness_run: Run, deployment: Deployment
) -> tuple[LoadRun, SyncInBackground]:
    """One Locust run of the profile's shape, judged by SC-008 and SC-009 alike; at its peak,
    SC-002's sync probe runs once more (sync under load)."""
    profile = harness_run.profile
    plan = LoadPlan.from_profile(profile)
    sync = SyncInBackground(
        deployment,
        fresh_user("sc002-load"),
        tabs=int(profile.get("sc002", "subscribers")),
        writes=int(profile.get("sc002", "writes")),
        wait_s=float(profile.get("sc002", "max_s")) + 5,
        replicas=streamed_replicas(harness_run, deployment),
    )

    def show(line: str) -> None:  # the live view prints it (harness.live)
        request.config.hook.pytest_harness_progress(line=line)

    directory = harness_run.report_dir / "load"
    if harness_run.options.load_in_cluster:
        from harness.load_cluster import run_load_in_cluster
        from harness.targets.kubernetes import KubernetesTarget

        assert isinstance(harness_run.target, KubernetesTarget)
        run = run_load_in_cluster(
            harness_run.target,
            deployment,
            plan,
            directory,
            fresh_user("load"),
            workers=plan.processes or 2,
            at_peak=sync,
            progress=show,
        )
    else:
        run = run_load(deployment, plan, directory, fresh_user("load"), at_peak=sync, progress=show)
    harness_run.artifacts["Locust report (HTML)"] = "load/locust.html"
    harness_run.artifacts["Locust statistics (CSV)"] = "load/locust_stats.csv"
    return run, sync


@pytest.fixture(scope="session")
def load_run(_load_stage: tuple[LoadRun, SyncInBackground]) -> LoadRun:
    return _load_stage[0]


@pytest.fixture(scope="session")
def sync_under_load(_load_stage: tuple[LoadRun, SyncInBackground]) -> SyncInBackground:
    return _load_stage[1]
