"""SC-001: a cluster deployment is ready (apply -> all pods ready) within the limit."""

from __future__ import annotations

import pytest

CRITERION = "SC-001"


def test_deployment_is_ready_in_time(harness_run, deployment, profile, verdict) -> None:
    if not harness_run.target.capabilities.deploy_timing:
        pytest.skip(
            f"deploy time applies to cluster targets (kind, minikube, doks), "
            f"not {deployment.target}"
        )
    limit = float(profile.get("sc001", "max_s"))
    assert deployment.deploy_seconds is not None, "the cluster target did not time its deploy"
    verdict.record(measured=deployment.deploy_seconds, threshold=limit)
    assert deployment.deploy_seconds <= limit, f"ready after {deployment.deploy_seconds:.0f} s"
