"""The scenarios run under the harness's pytest plugin (targets, profiles, verdicts, reports).

Run them all with ``python -m harness validate`` (or ``nox -s validate``), or one with
``pytest scenarios/test_sc002_sync.py --target local``.
"""

from __future__ import annotations

import pytest

from harness.load import LoadPlan, LoadRun, run_load
from harness.run import Run
from harness.targets import Deployment
from scenarios.helpers import fresh_user

pytest_plugins = ["harness.pytest_plugin"]


@pytest.fixture(scope="session")
def load_run(harness_run: Run, deployment: Deployment) -> LoadRun:
    """One Locust run of the profile's shape, judged by SC-008 and SC-009 alike."""
    plan = LoadPlan.from_profile(harness_run.profile)
    run = run_load(deployment, plan, harness_run.report_dir / "load", fresh_user("load"))
    harness_run.artifacts["Locust report (HTML)"] = "load/locust.html"
    harness_run.artifacts["Locust statistics (CSV)"] = "load/locust_stats.csv"
    return run
