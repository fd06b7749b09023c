"""What a user chose for a run: the target and its shape, the profile and its overrides; the
flags that say it, shared by the CLI and the pytest plugin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from harness.targets.clusters import CLUSTER_TOOLS

__all__ = ["TARGETS", "Options", "add_target_flags", "flags_of", "options_from"]

TARGETS = ("local", "url", *CLUSTER_TOOLS, "compose")


@dataclass(frozen=True)
class Options:
    target: str = "local"
    profile: str = "quick"
    overrides: tuple[str, ...] = ()
    report_dir: Path | None = None
    url: str | None = None
    jwt_secret: str | None = None
    token: str | None = None
    workers: int | None = None
    database_url: str | None = None
    database: str = "sqlite"  # postgres: a throwaway server unless database_url is given
    bus: str = "inline"
    redis_url: str | None = None
    failpoints: str | None = None
    split_roles: bool = False  # local: api, consumers and scheduler as separate process groups
    image: str | None = None  # cluster targets: the image to deploy
    kube_context: str | None = None  # cluster targets: the kubeconfig context
    namespace: str = "taskora"  # cluster targets: the namespace to deploy to
    overlay: str | None = None  # cluster targets: clusters/k8s/overlays/<overlay> (default: target)
    load_workers: int | None = None  # Locust worker processes under one master (sc008.processes)
    load_in_cluster: bool = False  # cluster targets: Locust runs in the cluster (clusters/locust)
    prometheus: str | None = None  # local | off; None: the profile's observability.prometheus
    prometheus_url: str | None = None  # the deployment's own Prometheus
    slo_window: str | None = None  # with prometheus_url: SC-007's server view over this window

    @property
    def profile_overrides(self) -> list[str]:
        """``--set`` values, and ``--load-workers`` as the profile's value it stands for."""
        workers = [] if self.load_workers is None else [f"sc008.processes={self.load_workers}"]
        return [*self.overrides, *workers]


# The flags that choose and shape the target, shared by the CLI and the pytest plugin (both take
# argparse's keywords). Each one's dest is a field of Options.
TARGET_FLAGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--target", {"default": "local", "choices": TARGETS, "help": "where the service runs"}),
    ("--profile", {"default": "quick", "help": "quick, ci, full or a .toml path"}),
    (
        "--set",
        {
            "action": "append",
            "default": [],
            "dest": "overrides",
            "metavar": "SECTION.KEY=VALUE",
            "help": "override a profile value",
        },
    ),
    ("--url", {"help": "--target url: the deployment's base URL"}),
    ("--jwt-secret", {"help": "--target url: the service's JWT signing secret"}),
    ("--token", {"help": "--target url: a bearer token (one user)"}),
    ("--workers", {"type": int, "help": "--target local: worker processes"}),
    ("--database-url", {"help": "--target local: a database instead of SQLite"}),
    (
        "--database",
        {
            "default": "sqlite",
            "choices": ("sqlite", "postgres"),
            "help": "--target local: postgres starts a throwaway server",
        },
    ),
    (
        "--bus",
        {
            "default": "inline",
            "choices": ("inline", "redis", "dapr"),
            "help": "local: inline or redis; compose: redis or dapr (sidecars)",
        },
    ),
    ("--redis-url", {"help": "--bus redis: the Redis server"}),
    ("--failpoints", {"help": "--target local: plant faults (TASKORA_FAILPOINTS)"}),
    (
        "--split-roles",
        {"action": "store_true", "help": "--target local: one process group per role"},
    ),
    ("--image", {"help": "cluster targets: the image to deploy (default: build taskora:dev)"}),
    ("--kube-context", {"help": "cluster targets: the kubeconfig context (default: current)"}),
    ("--namespace", {"default": "taskora", "help": "cluster targets: the namespace"}),
    (
        "--overlay",
        {
            "help": "cluster targets: the overlay under clusters/k8s/overlays to deploy "
            "(default: the target's own; kind also runs kind-kafka, Dapr over Kafka)"
        },
    ),
    (
        "--load-workers",
        {
            "type": int,
            "help": "Locust worker processes under one master "
            "(default: one per two spare cores; 1: a single process; in the "
            "cluster: worker pods, default 2)",
        },
    ),
    (
        "--load-in-cluster",
        {
            "action": "store_true",
            "help": "cluster targets: run Locust in the cluster (clusters/locust)",
        },
    ),
    (
        "--prometheus",
        {
            "choices": ("local", "off"),
            "help": "--target local: a Prometheus server scraping the stack each second "
            "(default: the profile's observability.prometheus)",
        },
    ),
    (
        "--prometheus-url",
        {
            "help": "the deployment's own Prometheus: SC-007, SC-009 and OBS-001 "
            "also read its metrics"
        },
    ),
    (
        "--slo-window",
        {
            "help": "with --prometheus-url: judge SC-007 on the deployment's "
            "availability over this PromQL duration (e.g. 7d)"
        },
    ),
)


def add_target_flags(add: Callable[..., Any]) -> None:
    """Declare the target flags with ``add`` (argparse's add_argument or pytest's addoption)."""
    for flag, keywords in TARGET_FLAGS:
        add(flag, **keywords)


def _dest(flag: str, keywords: dict[str, Any]) -> str:
    return str(keywords.get("dest", flag.lstrip("-").replace("-", "_")))


def options_from(get: Callable[[str], Any], report_dir: Path | None = None) -> Options:
    """Options from parsed flags; ``get`` reads one by its dest."""
    values = {_dest(flag, keywords): get(_dest(flag, keywords)) for flag, keywords in TARGET_FLAGS}
    values["overrides"] = tuple(values["overrides"])
    return Options(report_dir=report_dir, **values)


def flags_of(options: Options) -> list[str]:
    """The command-line flags that give ``options`` again (to hand them to pytest)."""
    argv: list[str] = []
    for flag, keywords in TARGET_FLAGS:
        value = getattr(options, _dest(flag, keywords))
        if keywords.get("action") == "append":
            argv += [arg for item in value for arg in (flag, str(item))]
        elif keywords.get("action") == "store_true":
            argv += [flag] if value else []
        elif value is not None:
            argv += [flag, str(value)]
    return argv


assert {_dest(f, k) for f, k in TARGET_FLAGS} <= {f.name for f in fields(Options)}
