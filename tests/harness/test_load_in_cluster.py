"""Locust in the cluster (``--load-in-cluster``) without a cluster: the layout rendered by the
real kubectl with the run's shape, the master's own shell script run for real (a stand-in for
the ``locust`` command writes Locust's files), and the whole stage against ``kube_standin``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import HarnessError
from harness.load import LoadPlan, finished
from harness.load_cluster import (
    BEGIN,
    END,
    NAMESPACE,
    load_objects,
    results_from_log,
    run_load_in_cluster,
)
from harness.targets import Deployment
from harness.targets.clusters import CLUSTERS
from harness.targets.commands import run_command
from harness.targets.kubernetes import KubernetesTarget
from tests.harness.kube_standin import KubeStandIn

kubernetes = pytest.importorskip("kubernetes", reason="the k8s extra is not installed")
pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

ROOT = Path(__file__).resolve().parents[2]
PLAN = LoadPlan(
    users=2,
    ramp_s=0.2,
    hold_s=0.5,
    ramp_down_s=0.1,
    wait_min_s=1,
    wait_max_s=3,
    sse_every=100,
    seed_per_user=0,
    processes=3,
)
# The stand-in's Job ends after 3 reads of its status, POLL_S apart: well after the 0.2 s ramp,
# so the probe at the peak runs (a Job that ended before it would cancel it).
POLL_S = 0.5

# Stands in for the `locust` command in the master's script: writes Locust's result files
# (two users held, 40 requests of one endpoint) into the working directory.
LOCUST = f"""#!{sys.executable}
import json, os, sys
entry = {{"method": "GET", "name": "/api/tasks", "num_requests": 40, "num_failures": 0,
          "max_response_time": 30, "start_time": 1000.0, "last_request_timestamp": 1010.0,
          "response_times": {{"10": 30, "30": 10}}}}
open("locust.json", "w").write(json.dumps([entry]))
rows = ["Timestamp,User Count,Type,Name,Requests/s,Failures/s,95%"]
rows += [f"{{1000 + i}},2,,Aggregated,4.0,0.0,30" for i in range(10)]
open("locust_stats_history.csv", "w").write("\\n".join(rows) + "\\n")
open("locust.log", "w").write("args: " + " ".join(sys.argv[1:]) + "\\n")
open("locust.html", "w").write("<html></html>")
sys.exit(int(os.environ.get("LOCUST_EXIT", "0")))
"""


def _render() -> str:
    return run_command(
        [
            "kubectl",
            "kustomize",
            "--load-restrictor",
            "LoadRestrictionsNone",
            str(ROOT / "clusters" / "locust"),
        ],
        timeout=60,
    )


def _objects() -> list[dict[str, Any]]:
    return load_objects(
        _render(),
        PLAN,
        '[{"user": "u"}]',
        workers=3,
        host="http://taskora.staging.svc.cluster.local:8000",
    )


def _one(objects: list[dict[str, Any]], kind: str, prefix: str) -> dict[str, Any]:
    (found,) = [
        o for o in objects if o["kind"] == kind and o["metadata"]["name"].startswith(prefix)
    ]
    return found


def _master_log(tmp_path: Path, exit_code: int = 0) -> subprocess.CompletedProcess[str]:
    """The master Job's script, run here as the pod runs it (``sh -c``)."""
    (script,) = _one(_objects(), "Job", "locust-master")["spec"]["template"]["spec"]["containers"][
        0
    ]["args"]
    tools, work = tmp_path / "bin", tmp_path / "work"
    tools.mkdir()
    work.mkdir()
    (tools / "locust").write_text(LOCUST)
    (tools / "locust").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{tools}:{os.environ['PATH']}",
        "TASKORA_LOAD_RESULTS": str(work),
        "LOCUST_EXIT": str(exit_code),
    }
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)


def test_the_layout_carries_the_runs_shape_host_workers_and_users() -> None:
    objects = _objects()
    shape = _one(objects, "ConfigMap", "load-shape")["data"]
    assert shape["TASKORA_LOAD_USERS"] == "2" and shape["TASKORA_LOAD_HOLD_S"] == "0.5"
    assert shape["LOCUST_HOST"] == "http://taskora.staging.svc.cluster.local:8000"
    assert shape["LOCUST_EXPECT_WORKERS"] == "3"
    assert _one(objects, "Deployment", "locust-worker")["spec"]["replicas"] == 3
    secret = _one(objects, "Secret", "taskora-load-users")
    assert secret["stringData"] == {"users.json": '[{"user": "u"}]'}
    mounted = _one(objects, "Job", "locust-master")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "users", "secret": {"secretName": "taskora-load-users"}} in mounted
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {
        NAMESPACE
    }
    with pytest.raises(HarnessError, match="at least one Locust worker"):
        load_objects(_render(), PLAN, "[]", workers=0, host="http://x")


def test_the_master_prints_its_results_into_its_log_and_they_read_back(tmp_path) -> None:
    done = _master_log(tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    out.mkdir()
    names = results_from_log(done.stdout, out)
    assert names == ["locust.html", "locust.json", "locust.log", "locust_stats_history.csv"]
    args = (out / "locust.log").read_text()
    assert "--master --headless" in args and "--json-file locust" in args
    run = finished(PLAN, out, 0)
    assert run.stats.peak_users == 2 and run.html == out / "locust.html"


def test_the_master_keeps_locusts_exit_code_and_still_prints_its_results(tmp_path) -> None:
    done = _master_log(tmp_path, exit_code=3)
    assert done.returncode == 3
    assert "locust.json" in results_from_log(done.stdout, tmp_path)


def test_a_log_without_results_or_with_bad_ones_is_one_line(tmp_path) -> None:
    with pytest.raises(HarnessError, match="printed no results; its log ends: Traceback"):
        results_from_log("starting\nTraceback (most recent call last)\n", tmp_path)
    with pytest.raises(HarnessError, match="unreadable"):
        results_from_log("\n".join([BEGIN, "!!!", END]), tmp_path)
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "passwd").write_text("x")
    packed = subprocess.run(
        ["sh", "-c", f"tar -czf - -C {evil} passwd | base64"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    log = "\n".join([BEGIN, packed.strip(), END])
    with pytest.raises(HarnessError, match="unexpected file 'passwd'"):
        results_from_log(log, tmp_path / "out")
    assert not (tmp_path / "out" / "passwd").exists()


class Kubectl:
    """The runner: ``kustomize`` is the real kubectl; ``apply`` hands the objects to the
    stand-in; every command is recorded."""

    def __init__(self, standin: KubeStandIn) -> None:
        self.standin = standin
        self.calls: list[list[str]] = []
        self.applied: list[dict[str, Any]] = []

    def __call__(self, argv: Sequence[str], *, stdin: str | None = None, timeout: float = 0) -> str:
        argv = list(argv)
        self.calls.append(argv)
        if "kustomize" in argv:
            return run_command(argv, timeout=60)
        if "apply" in argv:
            self.applied = [doc for doc in yaml.safe_load_all(stdin or "") if doc]
            self.standin.apply(self.applied, argv[argv.index("-n") + 1])
        return ""


@pytest.fixture
def standin() -> Iterator[KubeStandIn]:
    server = KubeStandIn(ready_after=3).start()
    yield server
    server.stop()


def test_the_stage_applies_waits_reads_the_masters_log_and_cleans_up(standin, tmp_path) -> None:
    standin.logs[(NAMESPACE, "locust-master-x7k2p")] = _master_log(tmp_path).stdout
    kubectl = Kubectl(standin)
    configuration = kubernetes.client.Configuration(host=standin.host)
    target = KubernetesTarget(
        CLUSTERS["kind"],
        context="test",
        namespace="staging",
        poll_interval=POLL_S,
        ready_timeout=20,
        run=kubectl,
        api_client=kubernetes.client.ApiClient(configuration),
        kubectl=["kubectl"],
    )
    deployment = Deployment("kind", "http://127.0.0.1:9", token=lambda user: f"token-{user}")
    peaks: list[str] = []
    lines: list[str] = []
    run = run_load_in_cluster(
        target,
        deployment,
        PLAN,
        tmp_path / "load",
        "load",
        workers=3,
        at_peak=lambda: peaks.append("peak"),
        progress=lines.append,
    )
    assert run.stats.peak_users == 2 and run.exit_code == 0
    assert (tmp_path / "load" / "locust.html").is_file()
    users = json.loads(
        _one(kubectl.applied, "Secret", "taskora-load-users")["stringData"]["users.json"]
    )
    assert [u["user"] for u in users] == ["load-00000", "load-00001"]
    assert users[0]["token"] == "token-load-00000"
    shape = _one(kubectl.applied, "ConfigMap", "load-shape")["data"]
    assert shape["LOCUST_HOST"] == "http://taskora.staging.svc.cluster.local:8000"
    verbs = [c[c.index("-n") + 2] if "-n" in c else c[3] for c in kubectl.calls[1:]]
    assert verbs == ["delete", "apply", "delete"]  # clean before, removed after
    assert all(NAMESPACE in c and "test" in c for c in kubectl.calls[1:])  # the context kept
    assert peaks == ["peak"]
    assert lines[0] == "load: seeding 2 users" and any("3 workers" in line for line in lines)
    assert standin.calls_to(
        "GET", rf"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/locust-master/status"
    )
