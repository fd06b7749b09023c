"""What differs between the Kubernetes clusters the harness deploys to (kind, Minikube, DOKS):
the tool each needs, its kubeconfig context, how the image gets into it, its overlays (the one
named after it, and others such as kind-kafka), its broker and its database. The target that
deploys to them is ``harness.targets.kubernetes``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from harness.errors import TargetUnavailable, UsageError
from harness.targets.commands import Runner

__all__ = [
    "CLUSTERS",
    "CLUSTER_TOOLS",
    "DAPR_INIT",
    "IMAGE",
    "LOCAL_CLUSTERS",
    "TOOL_HINTS",
    "Cluster",
    "LocalCluster",
]

IMAGE = "taskora:dev"
CLUSTER_NAME = "taskora"  # kind cluster name, Minikube profile
KUBECTL_HINT = "https://kubernetes.io/docs/tasks/tools/"


@dataclass(frozen=True)
class Cluster:
    """One kind of cluster. ``context`` None means the kubeconfig's current context."""

    name: str
    tool: str  # the cluster's own CLI, needed on PATH
    install_hint: str
    context: str | None
    create_hint: str  # how to get the context when it is missing
    broker: tuple[str, str]  # (deployment|statefulset, name) of the overlay in use
    in_cluster_database: bool = True  # a postgres StatefulSet (else a managed database)
    load_image: tuple[str, ...] = ()  # the command that loads IMAGE into the cluster
    registry_image_only: bool = False  # the cluster pulls from a registry: --image is required
    # Other overlays this cluster runs (--overlay), each with its broker
    other_overlays: tuple[tuple[str, tuple[str, str]], ...] = ()
    overlay_name: str = ""  # the overlay in use; "" is the one named after the cluster

    @property
    def overlays(self) -> tuple[str, ...]:
        """The overlays ``--overlay`` accepts for this cluster, its own first."""
        return (self.name, *(name for name, _ in self.other_overlays))

    @property
    def overlay(self) -> str:
        return f"clusters/k8s/overlays/{self.overlay_name or self.name}"

    def with_overlay(self, overlay: str | None) -> Cluster:
        """This cluster deploying ``overlay`` (None: its own); a UsageError naming the valid
        ones for any other."""
        if overlay is None or overlay == self.name:
            return self
        brokers = dict(self.other_overlays)
        if overlay not in brokers:
            raise UsageError(
                f"--overlay {overlay!r}: for --target {self.name} use one of "
                f"{', '.join(self.overlays)}"
            )
        return replace(self, overlay_name=overlay, broker=brokers[overlay])

    def tools(self, builds_image: bool) -> list[tuple[str, str]]:
        """(tool, why) that must be on PATH."""
        needed = [
            (self.tool, self.install_hint),
            ("kubectl", KUBECTL_HINT),
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
        name="kind",
        tool="kind",
        install_hint="https://kind.sigs.k8s.io/docs/user/quick-start/",
        context=f"kind-{CLUSTER_NAME}",
        create_hint=f"kind create cluster --name {CLUSTER_NAME}",
        broker=("statefulset", "redis"),
        load_image=("kind", "load", "docker-image", IMAGE, "--name", CLUSTER_NAME),
        other_overlays=(("kind-kafka", ("statefulset", "redpanda")),),
    ),
    "minikube": Cluster(
        name="minikube",
        tool="minikube",
        install_hint="https://minikube.sigs.k8s.io/docs/start/",
        context=CLUSTER_NAME,
        create_hint=f"minikube start -p {CLUSTER_NAME}",
        broker=("statefulset", "redis"),
        load_image=("minikube", "-p", CLUSTER_NAME, "image", "load", IMAGE),
    ),
    "doks": Cluster(
        name="doks",
        tool="doctl",
        install_hint="https://docs.digitalocean.com/reference/doctl/",
        context=None,
        create_hint="doctl kubernetes cluster kubeconfig save <cluster>",
        broker=("statefulset", "redpanda"),
        in_cluster_database=False,
        registry_image_only=True,
    ),
}

CLUSTER_TOOLS = {name: cluster.tool for name, cluster in CLUSTERS.items()}


@dataclass(frozen=True)
class LocalCluster:
    """How ``nox -s cluster-up|cluster-down`` creates and deletes a local cluster named taskora."""

    tool: str
    create: tuple[tuple[str, ...], ...]
    delete: tuple[str, ...]


INGRESS_NGINX_KIND = (
    "https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.12.0"
    "/deploy/static/provider/kind/deploy.yaml"
)
LOCAL_CLUSTERS = {
    "kind": LocalCluster(
        tool="kind",
        create=(
            ("kind", "create", "cluster", "--config", "clusters/kind/kind-config.yaml"),
            ("kubectl", "apply", "-f", INGRESS_NGINX_KIND),
            (
                "kubectl",
                "--namespace",
                "ingress-nginx",
                "rollout",
                "status",
                "deployment/ingress-nginx-controller",
                "--timeout=300s",
            ),
        ),
        delete=("kind", "delete", "cluster", "--name", CLUSTER_NAME),
    ),
    "minikube": LocalCluster(
        tool="minikube",
        create=(("bash", "clusters/minikube/start.sh"),),  # ingress and metrics-server addons
        delete=("minikube", "delete", "--profile", CLUSTER_NAME),
    ),
}
DAPR_INIT = ("dapr", "init", "-k", "--wait")
# Where to get each tool the cluster sessions and targets run
TOOL_HINTS = {
    **{cluster.tool: cluster.install_hint for cluster in CLUSTERS.values()},
    "kubectl": KUBECTL_HINT,
    "dapr": "https://docs.dapr.io/getting-started/install-dapr-cli/",
}
