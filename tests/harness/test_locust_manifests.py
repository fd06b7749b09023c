"""The distributed Locust layout under clusters/locust renders, and its parts fit together."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


def _render() -> dict[tuple[str, str], dict[str, Any]]:
    result = subprocess.run(
        [
            "kubectl",
            "kustomize",
            "--load-restrictor",
            "LoadRestrictionsNone",
            str(ROOT / "clusters" / "locust"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(result.stdout)}


def test_master_and_workers_run_the_repository_locustfile() -> None:
    objects = _render()
    job = objects[("Job", "locust-master")]
    master = job["spec"]["template"]["spec"]
    worker = objects[("Deployment", "locust-worker")]["spec"]["template"]["spec"]
    service = objects[("Service", "locust-master")]
    (locustfile,) = [o for (kind, name), o in objects.items() if name.startswith("locustfile-")]
    assert (
        locustfile["data"]["taskora_load.py"]
        == (ROOT / "loadtests" / "taskora_load.py").read_text()
    )
    (script,) = master["containers"][0]["args"]  # sh -c: Locust, then its results to the log
    master_args = script.split()
    worker_args = worker["containers"][0]["args"]
    assert "--master" in master_args and "--headless" in master_args
    assert worker_args[worker_args.index("--master-host") + 1] == service["metadata"]["name"]
    # a run that ends is not started again, and the Service finds the Job's pod
    assert master["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["port"] == 5557
    for spec, args in ((master, master_args), (worker, worker_args)):
        mounts = {m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
        assert args[args.index("-f") + 1] in mounts
        assert spec["securityContext"]["runAsNonRoot"] is True
    (shape,) = [o for (kind, name), o in objects.items() if name.startswith("load-shape-")]
    assert shape["data"]["TASKORA_LOAD_USERS"] == "1000"
    assert shape["data"]["TASKORA_LOAD_USERS_FILE"].startswith("/load/users/")
    workers = objects[("Deployment", "locust-worker")]["spec"]["replicas"]
    assert shape["data"]["LOCUST_EXPECT_WORKERS"] == str(workers)
