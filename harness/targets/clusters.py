"""What differs between the Kubernetes clusters the harness deploys to (kind, Minikube, DOKS):
the tool each needs, its kubeconfig context, how the image gets into it, its broker and its
database; how a rendered overlay is pointed at the image and the namespace; and
``PortForward``, a ``kubectl port-forward`` kept alive by a supervisor thread (a forward to a
Service binds to one pod: when that pod dies, the forward dies or goes deaf, and is started
again). One-shot commands go through ``harness.targets.commands.run_command``."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.errors import TargetUnavailable

__all__ = [
    "CLUSTERS", "CLUSTER_TOOLS", "Cluster", "PortForward", "Runner", "retarget_manifest",
]  # fmt: skip

IMAGE = "taskora:dev"
CLUSTER_NAME = "taskora"  # kind cluster name, Minikube profile
NAMESPACE = "taskora"  # the manifests' own namespace


class Runner(Protocol):
    def __call__(
        self, argv: Sequence[str], *, stdin: str | None = None, timeout: float = ...
    ) -> str:
        """Run ``argv`` to completion and return its stdout; raise TargetUnavailable if it fails."""
        ...


@dataclass(frozen=True)
class Cluster:
    """One kind of cluster. ``context`` None means the kubeconfig's current context."""

    name: str
    tool: str  # the cluster's own CLI, needed on PATH
    install_hint: str
    context: str | None
    create_hint: str  # how to get the context when it is missing
    broker: tuple[str, str]  # (deployment|statefulset, name)
    in_cluster_database: bool = True  # a postgres StatefulSet (else a managed database)
    load_image: tuple[str, ...] = ()  # the command that loads IMAGE into the cluster
    registry_image_only: bool = False  # the cluster pulls from a registry: --image is required

    @property
    def overlay(self) -> str:
        return f"clusters/k8s/overlays/{self.name}"

    def tools(self, builds_image: bool) -> list[tuple[str, str]]:
        """(tool, why) that must be on PATH."""
        needed = [
            (self.tool, self.install_hint),
            ("kubectl", "https://kubernetes.io/docs/tasks/tools/"),
        ]
        if builds_image:
            needed.append(("docker", "it builds the image; or pass --image"))
        return needed

    def prepare_image(self, run: Runner, root: Path) -> str:
        """Build ``taskora:dev`` from the repository and load it into the cluster."""
        if self.registry_image_only:
            raise TargetUnavailable(f"--target {self.name} pulls from a registry: pass --image")
        dockerfile = root / "clusters" / "Dockerfile"  # -f is read from the working directory
        run(["docker", "build", "-f", str(dockerfile), "-t", IMAGE, str(root)])
        run(list(self.load_image))
        return IMAGE


CLUSTERS: dict[str, Cluster] = {
    "kind": Cluster(
        name="kind", tool="kind", install_hint="https://kind.sigs.k8s.io/docs/user/quick-start/",
        context=f"kind-{CLUSTER_NAME}", create_hint=f"kind create cluster --name {CLUSTER_NAME}",
        broker=("statefulset", "redis"),
        load_image=("kind", "load", "docker-image", IMAGE, "--name", CLUSTER_NAME),
    ),
    "minikube": Cluster(
        name="minikube", tool="minikube", install_hint="https://minikube.sigs.k8s.io/docs/start/",
        context=CLUSTER_NAME, create_hint=f"minikube start -p {CLUSTER_NAME}",
        broker=("statefulset", "redis"),
        load_image=("minikube", "-p", CLUSTER_NAME, "image", "load", IMAGE),
    ),
    "doks": Cluster(
        name="doks", tool="doctl", install_hint="https://docs.digitalocean.com/reference/doctl/",
        context=None, create_hint="doctl kubernetes cluster kubeconfig save <cluster>",
        broker=("statefulset", "redpanda"), in_cluster_database=False, registry_image_only=True,
    ),
}  # fmt: skip

CLUSTER_TOOLS = {name: cluster.tool for name, cluster in CLUSTERS.items()}


def _is_taskora(container: dict[str, Any]) -> bool:
    image = str(container.get("image", ""))
    return container.get("name") == "taskora" or image.split("/")[-1].split(":")[0] == "taskora"


def _pod_specs(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "Pod":
        yield spec
    elif doc.get("kind") == "CronJob":
        yield (
            ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec", {})
        )
    elif isinstance(spec.get("template"), dict):
        yield spec["template"].get("spec") or {}


def retarget_manifest(text: str, image: str, namespace: str) -> str:
    """The rendered overlay with ``image`` on every taskora container (and init container), and
    every object, service account subject and in-cluster DNS name in ``namespace`` instead of
    the manifests' own (``taskora``)."""
    import yaml

    text = text.replace(f".{NAMESPACE}.svc", f".{namespace}.svc")
    docs = [doc for doc in yaml.safe_load_all(text) if doc]
    for doc in docs:
        metadata = doc.setdefault("metadata", {})
        if doc.get("kind") == "Namespace":
            metadata["name"] = namespace
        elif "namespace" in metadata:
            metadata["namespace"] = namespace
        for subject in doc.get("subjects") or []:
            if subject.get("namespace") == NAMESPACE:
                subject["namespace"] = namespace
        for pod in _pod_specs(doc):
            for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
                if _is_taskora(container):
                    container["image"] = image
    return yaml.safe_dump_all(docs, sort_keys=False)


class PortForward:
    """``command`` (a ``kubectl port-forward``) as a child in its own process group, started
    again whenever it exits or ``healthy()`` fails ``unhealthy_after`` checks in a row."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        healthy: Callable[[], bool] | None = None,
        check_every: float = 2.0,
        unhealthy_after: int = 3,
        restart_delay: float = 0.5,
        log: Path | None = None,
    ) -> None:
        self.command = list(command)
        self.healthy = healthy
        self.check_every = check_every
        self.unhealthy_after = unhealthy_after
        self.restart_delay = restart_delay
        self.log = log
        self.starts = 0
        self.child: subprocess.Popen[bytes] | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopped.clear()
        self._spawn()
        self._thread = threading.Thread(target=self._supervise, name="port-forward", daemon=True)
        self._thread.start()

    def _spawn(self) -> None:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        try:
            self.child = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        finally:
            if self.log and not isinstance(out, int):
                out.close()
        self.starts += 1

    def _supervise(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            child = self.child
            assert child is not None
            try:
                child.wait(timeout=self.check_every)
            except subprocess.TimeoutExpired:
                if self.healthy is None or self.healthy():
                    failures = 0
                    continue
                failures += 1
                if failures < self.unhealthy_after:
                    continue
                self._kill(child)  # alive but deaf: its pod is gone
            failures = 0
            if self._stopped.wait(self.restart_delay):
                break
            self._spawn()

    @staticmethod
    def _kill(child: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait(timeout=10)

    def stop(self) -> None:
        self._stopped.set()
        if self.child is not None:
            self._kill(self.child)
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self.child is not None and self.child.poll() is None:  # spawned while stopping
            self._kill(self.child)
        self.child, self._thread = None, None
