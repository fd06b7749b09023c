"""Targets: the local process group, the url target, clusters that are not there."""

from __future__ import annotations

import time

import httpx
import pytest

from harness.errors import TargetUnavailable, UsageError
from harness.options import Options
from harness.profile import load_profile
from harness.run import build_target
from harness.targets.clusters import CLUSTERS
from harness.targets.kubernetes import KubernetesTarget
from harness.targets.local import LocalTarget
from harness.targets.remote import UrlTarget
from tests.process import group_gone

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _replaced(target: LocalTarget, killed: str) -> bool:
    replicas = target.replicas()
    return killed not in replicas and len(replicas) == 2


def test_local_target_up_kill_down_leaves_nothing_behind() -> None:
    target = LocalTarget(workers=2)
    deployment = target.up()
    try:
        assert deployment.ready_seconds is not None and deployment.ready_seconds < 60
        created = httpx.post(
            f"{deployment.base_url}/api/tasks", json={"title": "x"}, headers=deployment.headers("u")
        )
        assert created.status_code == 201
        before = target.replicas()
        assert len(before) == 2
        target.kill(before[0])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _replaced(target, before[0]):
            time.sleep(0.2)
        after = target.replicas()
        assert before[0] not in after and len(after) == 2  # the supervisor replaced it
        with pytest.raises(ValueError):
            target.kill("1")  # not one of ours
    finally:
        assert target.process is not None
        pgid = target.process.pid
        target.down()
    assert group_gone(pgid)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{deployment.base_url}/health", timeout=2)


def test_url_target_needs_a_secret_or_token_and_a_reachable_service() -> None:
    with pytest.raises(UsageError, match="--jwt-secret"):
        UrlTarget("http://127.0.0.1:1")
    with pytest.raises(TargetUnavailable, match="unreachable"):
        UrlTarget("http://127.0.0.1:1", token="t").up()


def test_cluster_targets_say_what_is_missing() -> None:
    profile = load_profile("quick", [])
    assert isinstance(build_target(Options(target="minikube"), profile), KubernetesTarget)
    with pytest.raises(TargetUnavailable, match="needs `kind` on PATH"):
        KubernetesTarget(CLUSTERS["kind"], which=lambda tool: None).preflight()
    with pytest.raises(TargetUnavailable, match="needs `doctl` on PATH"):
        KubernetesTarget(CLUSTERS["doks"], image="r/taskora:1", which=lambda tool: None).up()
    with pytest.raises(UsageError, match="--image"):
        build_target(Options(target="doks"), profile)


def test_local_target_runs_the_roles_apart_and_crashes_one_role() -> None:
    target = LocalTarget(workers=2, split_roles=True)
    deployment = target.up()
    groups = target.process_groups()
    try:
        assert list(groups) == ["api", "consumers", "scheduler"]
        assert len(target.replicas()) == 2  # the api's workers
        consumers = target.replicas("consumers")
        assert len(consumers) == 1 and consumers[0] not in target.replicas()
        target.crash("consumers")
        assert target.replicas("consumers") == []
        ready = httpx.get(f"{deployment.base_url}/ready", timeout=5)
        assert ready.status_code == 200  # the api serves on without its consumers
        target.restart("consumers")
        assert len(target.replicas("consumers")) == 1
        with pytest.raises(ValueError, match="no role"):
            target.replicas("nope")
    finally:
        target.down()
    assert all(group_gone(pgid) for pgid in groups.values())
