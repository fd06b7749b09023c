"""The load stage inside a Kubernetes cluster (``--load-in-cluster`` on kind, minikube and DOKS),
for a load one machine cannot offer.

The harness seeds the users as for a local run, renders ``clusters/locust`` (a master Job, the
workers as a Deployment) with the run's shape, the service's in-cluster address and the worker
count, adds the users Secret the pods mount, applies it all to the namespace ``taskora-load`` and
waits for the workers. When Locust ends, the master prints its result files to its log (a gzip'd
tar in base64 between two marker lines): the harness reads them back from there into the report
directory and judges them exactly as it judges a local run. The namespace is deleted afterwards.
"""

from __future__ import annotations

import base64
import binascii
import io
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError
from harness.load import GRACE_S, PEAK_PROBE_S, PROGRESS_EVERY_S, LoadPlan, LoadRun, seed_users
from harness.load import finished as finished_run
from harness.targets import Deployment
from harness.targets.kubernetes import KubernetesTarget

__all__ = ["NAMESPACE", "load_objects", "results_from_log", "run_load_in_cluster"]

NAMESPACE = "taskora-load"
LAYOUT = Path("clusters") / "locust"
USERS_FILE = "/load/users/users.json"  # where the pods mount the Secret
BEGIN = "--- taskora-load results (tar.gz, base64) ---"
END = "--- end of taskora-load results ---"
MAX_RESULTS_BYTES = 256 * 2**20  # unpacked; Locust's files for an hour's run are a few MB


def load_objects(
    rendered: str, plan: LoadPlan, users_json: str, *, workers: int, host: str
) -> list[dict[str, Any]]:
    """The rendered layout with the run's shape, host and worker count, plus the users Secret."""
    if workers < 1:
        raise HarnessError("--load-in-cluster needs at least one Locust worker (--load-workers)")
    objects = [doc for doc in yaml.safe_load_all(rendered) if doc]
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "ConfigMap" and name.startswith("load-shape"):
            obj["data"].update(plan.environment(Path(USERS_FILE)))
            obj["data"].update(
                LOCUST_HOST=host,
                LOCUST_EXPECT_WORKERS=str(workers),
                TASKORA_LOAD_PROCESSES=str(workers),
            )
        elif kind == "Deployment" and name == "locust-worker":
            obj["spec"]["replicas"] = workers
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "taskora-load-users",
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/part-of": "taskora-load"},
        },
        "stringData": {"users.json": users_json},
    }
    return [*objects, secret]


def results_from_log(log: str, directory: Path) -> list[str]:
    """Unpack the result files the master printed between the markers; their names."""
    lines = log.splitlines()
    if BEGIN not in lines or END not in lines[lines.index(BEGIN) :]:
        last = next((line for line in reversed(lines) if line.strip()), "(empty log)")
        raise HarnessError(f"the Locust master printed no results; its log ends: {last}")
    start = lines.index(BEGIN) + 1
    block = "".join(lines[start : lines.index(END, start)])
    try:
        packed = base64.b64decode(block, validate=True)
        with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            if sum(m.size for m in members) > MAX_RESULTS_BYTES:
                raise HarnessError("the Locust master's results are larger than expected")
            for member in members:
                if "/" in member.name or not member.name.startswith("locust"):
                    raise HarnessError(f"unexpected file {member.name!r} in the master's results")
            tar.extractall(directory, members=members, filter="data")
    except (binascii.Error, tarfile.TarError, EOFError) as exc:
        raise HarnessError(f"the Locust master's results are unreadable: {exc}") from None
    return sorted(m.name for m in members)


class _Cluster:
    """The calls the in-cluster load makes, through the target's client and kubectl."""

    def __init__(self, target: KubernetesTarget) -> None:
        self.target = target
        context = ["--context", target.context] if target.context else []
        self.kubectl = [*target.kubectl, *context]

    def render(self) -> str:
        return self.target.kustomize(self.target.root / LAYOUT, files_outside=True)

    def apply(self, objects: list[dict[str, Any]]) -> None:
        self.delete()  # a finished Job of an earlier run cannot be changed: start clean
        self.target.run(
            [*self.kubectl, "-n", NAMESPACE, "apply", "-f", "-"], stdin=yaml.safe_dump_all(objects)
        )

    def delete(self) -> None:
        self.target.run(
            [
                *self.kubectl,
                "delete",
                "namespace",
                NAMESPACE,
                "--ignore-not-found",
                "--wait=true",
                "--timeout=180s",
            ],
            timeout=240,
        )

    def workers_ready(self) -> int:
        with self.target.api_errors("read the Locust workers"):
            workers = self.target.apps().read_namespaced_deployment("locust-worker", NAMESPACE)
        return int((workers.status and workers.status.ready_replicas) or 0)

    def master_done(self) -> bool:
        with self.target.api_errors("read the Locust master Job"):
            job = self.target.batch().read_namespaced_job_status("locust-master", NAMESPACE)
        status = job.status
        return bool(status and (status.succeeded or status.failed))

    def master_log(self) -> str:
        core = self.target.core()
        with self.target.api_errors("read the Locust master's log"):
            pods = core.list_namespaced_pod(NAMESPACE, label_selector="job-name=locust-master")
            if not pods.items:
                raise HarnessError("the Locust master Job has no pod")
            name = pods.items[0].metadata.name
            return str(core.read_namespaced_pod_log(name, NAMESPACE, container="locust"))


def _wait_for(
    done: Callable[[], bool],
    limit_s: float,
    what: str,
    poll_s: float,
    progress: Callable[[], object] | None = None,
) -> None:
    started = last = time.monotonic()
    while not done():
        now = time.monotonic()
        if now - started >= limit_s:
            raise HarnessError(f"{what} within {limit_s:.0f} s")
        if progress is not None and now - last >= PROGRESS_EVERY_S:
            progress()
            last = now
        time.sleep(poll_s)


def run_load_in_cluster(
    target: KubernetesTarget,
    deployment: Deployment,
    plan: LoadPlan,
    directory: Path,
    prefix: str,
    *,
    workers: int,
    at_peak: Callable[[], object] | None = None,
    progress: Callable[[str], object] | None = None,
) -> LoadRun:
    """``run_load``'s counterpart with Locust in the cluster (``workers`` worker pods)."""
    directory.mkdir(parents=True, exist_ok=True)
    show = progress or (lambda line: None)
    show(f"load: seeding {plan.users} users")
    users_file = seed_users(deployment, plan, directory, prefix)
    cluster = _Cluster(target)
    host = f"http://taskora.{target.namespace}.svc.cluster.local:8000"
    objects = load_objects(
        cluster.render(), plan, users_file.read_text(encoding="utf-8"), workers=workers, host=host
    )
    show(f"load: applying {LAYOUT} to namespace {NAMESPACE} ({workers} workers)")
    cluster.apply(objects)
    peak: threading.Timer | None = None
    try:
        _wait_for(
            lambda: cluster.workers_ready() >= workers,
            target.ready_timeout,
            f"the {workers} Locust workers were not ready",
            target.poll_interval,
        )
        started = time.monotonic()
        if at_peak is not None:
            peak = threading.Timer(plan.ramp_s, at_peak)
            peak.daemon = True
            peak.start()

        def running() -> None:
            left = max(0.0, plan.duration_s - (time.monotonic() - started))
            show(f"load: Locust runs in the cluster, {workers} workers, {left:.0f} s left")

        _wait_for(
            cluster.master_done,
            plan.duration_s + GRACE_S,
            "the Locust master did not end",
            target.poll_interval,
            running,
        )
        results_from_log(cluster.master_log(), directory)
    finally:
        if peak is not None:
            peak.cancel()
            if peak.is_alive():
                peak.join(timeout=PEAK_PROBE_S)
        cluster.delete()
    return finished_run(plan, directory, exit_code=0)
