"""The harness's public API for scripts (the benchmarks in ``loadtests/``): start a local stack,
wait for a service, run a Locust load against a deployment. What is not named here is internal
and may change."""

from __future__ import annotations

from harness.load import LoadPlan, LoadRun, run_load
from harness.locust_stats import RESOLUTION_NOTE
from harness.readiness import Readiness, answers, wait_ready
from harness.targets import Deployment
from harness.targets.local import LocalTarget
from harness.targets.throwaway import free_port

__all__ = [
    "RESOLUTION_NOTE",
    "Deployment",
    "LoadPlan",
    "LoadRun",
    "LocalTarget",
    "Readiness",
    "answers",
    "free_port",
    "run_load",
    "wait_ready",
]
