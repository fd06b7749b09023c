"""What an experiment's activities act on: the harness's session, or under ``chaos run
chaos/<name>.json`` the running deployment the configuration names.

Every experiment in ``chaos/`` reads these keys from the environment (Chaos Toolkit's ``env``
configuration), or from ``chaos run --var key=value``:

- ``taskora_target`` (``TASKORA_CHAOS_TARGET``, default ``local``): ``local`` is the stack
  ``python -m harness up`` started from the current directory (its ``.harness/up.json``);
  ``kind``, ``minikube`` or ``doks`` is the deployment in a Kubernetes cluster;
- ``taskora_namespace`` (``TASKORA_CHAOS_NAMESPACE``, default ``taskora``),
  ``taskora_context`` (``TASKORA_CHAOS_CONTEXT``, default: the cluster's usual context) and
  ``taskora_overlay`` (``TASKORA_CHAOS_OVERLAY``, default: the cluster's own; ``kind-kafka``
  on kind, whose broker is Redpanda) for the clusters;
- ``writers`` (default 4): how many ledger writers write while the faults are injected.

The writers' users are new for every run, so a run judges only its own writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from harness.chaos.session import SESSION_KEY, ChaosSession, lookup
from harness.chaos.writers import Writers
from harness.errors import UsageError
from harness.targets import Deployment, Target
from harness.targets.clusters import CLUSTERS
from harness.targets.running import STATE, RunningLocalTarget, StackState

__all__ = ["attach", "session_for"]

DEFAULT_WRITERS = 4


def _names(configuration: Mapping[str, Any]) -> tuple[str, str, str, str]:
    target = str(configuration.get("taskora_target") or "local")
    namespace = str(configuration.get("taskora_namespace") or "taskora")
    context = str(configuration.get("taskora_context") or "")
    return target, namespace, context, str(configuration.get("taskora_overlay") or "")


def attachment_key(configuration: Mapping[str, Any]) -> str:
    """One session per deployment within one ``chaos run`` process."""
    return "attached:" + ":".join(_names(configuration))


def _target(configuration: Mapping[str, Any]) -> tuple[Target, Deployment]:
    name, namespace, context, overlay = _names(configuration)
    if name == "local":
        local = RunningLocalTarget(StackState.load(STATE))
        return local, local.up()
    if name in CLUSTERS:
        from harness.targets.kubernetes import KubernetesTarget

        cluster = KubernetesTarget(
            CLUSTERS[name].with_overlay(overlay or None),
            namespace=namespace,
            context=context or None,
        )
        return cluster, cluster.attach()
    raise UsageError(
        f"configuration taskora_target={name!r}: use local (a stack started by python -m "
        f"harness up) or one of {', '.join(CLUSTERS)} (TASKORA_CHAOS_TARGET)"
    )


def attach(configuration: Mapping[str, Any]) -> ChaosSession:
    target, deployment = _target(configuration)
    run = uuid.uuid4().hex[:8]
    count = int(configuration.get("writers") or DEFAULT_WRITERS)
    users = [f"chaos-{run}-{i}" for i in range(count)]
    return ChaosSession(target, deployment, Writers(deployment, users))


def session_for(configuration: Mapping[str, Any] | None) -> ChaosSession:
    """The session the configuration names (a harness run), or the one attached, once per
    ``chaos run`` process, to the deployment it names."""
    configuration = configuration or {}
    if key := configuration.get(SESSION_KEY):
        return lookup(str(key))
    return lookup(attachment_key(configuration), lambda: attach(configuration))
