"""Developer and CI sessions. ``nox -l`` lists them; ``nox -s NAME -- ARGS`` passes ARGS on."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.error_on_missing_interpreters = True
PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the project's tests (PostgreSQL and Redis tests skip where absent, except in CI)."""
    session.install("-e", ".[dev,harness,load,chaos,k8s]")
    args = session.posargs or ["-n", "2", "-ra", "--junitxml=reports/junit-tests.xml"]
    session.run("pytest", *args)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style (ruff) and types (mypy)."""
    session.install("-e", ".[lint,harness]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(python=PYTHON, default=False)
def serve(session: nox.Session) -> None:
    """Start the service on http://127.0.0.1:8000 and print a token for the user 'demo'."""
    session.install("-e", ".")
    token = session.run("taskora", "token", "demo", "--ttl", "86400", silent=True)
    session.log("Taskora: http://127.0.0.1:8000  (API docs at /docs)")
    session.log(f"Token for user 'demo' (valid 24 h): {str(token).strip()}")
    session.log("Try: curl -H 'Authorization: Bearer <token>' http://127.0.0.1:8000/api/tasks")
    session.run("taskora", "serve", *session.posargs)


@nox.session(python=PYTHON)
def validate(session: nox.Session) -> None:
    """Validate a deployment against the success criteria (default: local stack, quick profile)."""
    session.install("-e", ".[harness,load,chaos]")
    session.run("python", "-m", "harness", "validate", *session.posargs)


@nox.session(python=PYTHON, default=False)
def selftest(session: nox.Session) -> None:
    """Plant each fault in a local stack and prove the harness catches it."""
    session.install("-e", ".[harness,load,chaos]")
    session.run("python", "-m", "harness", "selftest", *session.posargs)


@nox.session(python=PYTHON, default=False)
def load(session: nox.Session) -> None:
    """Only the Locust load stage (SC-008 users, SC-009 P95) against a target."""
    session.install("-e", ".[harness,load]")
    session.run("python", "-m", "harness", "load", *session.posargs)


@nox.session(python=PYTHON, default=False)
def chaos(session: nox.Session) -> None:
    """The Chaos Toolkit experiments in chaos/ (SC-010), each against a fresh stack."""
    session.install("-e", ".[harness,chaos]")
    session.run("python", "-m", "harness", "chaos", *session.posargs)


@dataclass(frozen=True)
class LocalCluster:
    """How to create and delete one local Kubernetes cluster named taskora."""

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
        delete=("kind", "delete", "cluster", "--name", "taskora"),
    ),
    "minikube": LocalCluster(
        tool="minikube",
        create=(("bash", "clusters/minikube/start.sh"),),  # ingress and metrics-server addons
        delete=("minikube", "delete", "--profile", "taskora"),
    ),
}
DAPR_INIT = ("dapr", "init", "-k", "--wait")
INSTALL_HINTS = {
    "kind": "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "minikube": "https://minikube.sigs.k8s.io/docs/start/",
    "kubectl": "https://kubernetes.io/docs/tasks/tools/",
    "dapr": "https://docs.dapr.io/getting-started/install-dapr-cli/",
}


def cluster_commands(session: nox.Session, action: str) -> list[tuple[str, ...]]:
    """The commands for `cluster-<action> -- kind|minikube`; session.error if a tool is missing."""
    names = "|".join(LOCAL_CLUSTERS)
    if len(session.posargs) != 1 or session.posargs[0] not in LOCAL_CLUSTERS:
        session.error(f"usage: nox -s cluster-{action} -- {names}")
    cluster = LOCAL_CLUSTERS[session.posargs[0]]
    commands = [*cluster.create, DAPR_INIT] if action == "up" else [cluster.delete]
    for tool in dict.fromkeys([cluster.tool, *(command[0] for command in commands)]):
        if shutil.which(tool) is None:
            hint = INSTALL_HINTS.get(tool, "install it")
            session.error(f"{tool} not found on PATH: install it ({hint}) and retry")
    return commands


@nox.session(name="cluster-up", python=False, default=False)
def cluster_up(session: nox.Session) -> None:
    """Create a local cluster named taskora (-- kind|minikube) with ingress and Dapr."""
    for command in cluster_commands(session, "up"):
        session.run(*command, external=True)


@nox.session(name="cluster-down", python=False, default=False)
def cluster_down(session: nox.Session) -> None:
    """Delete the local cluster named taskora (-- kind|minikube)."""
    for command in cluster_commands(session, "down"):
        session.run(*command, external=True)
