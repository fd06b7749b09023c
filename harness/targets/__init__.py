"""Targets: where the service under validation runs.

One protocol: ``up() -> Deployment``, ``down()``, ``kill(replica)``, and ``capabilities`` saying
what the target can do. ``local`` starts ``taskora serve`` as a process group; ``url`` points at
an existing deployment; ``kind``, ``minikube`` and ``doks`` are Kubernetes clusters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Capabilities", "Deployment", "Target"]


@dataclass(frozen=True)
class Capabilities:
    kill: bool = False  # can kill a replica (chaos)
    deploy_timing: bool = False  # measures apply -> all ready (SC-001)
    start_timing: bool = False  # measures process start -> ready (SC-005)
    crash: bool = False  # can kill the whole service at once and start it again
    broker: bool = False  # can stop and start the message broker it started itself
    database: bool = False  # reaches the service's database (store_url): plants poison events
    renames_killed: bool = True  # a killed replica comes back under a new name (pid, pod name)


@dataclass
class Deployment:
    target: str
    base_url: str
    token: Callable[[str], str]  # user id -> bearer token
    replicas: list[str] = field(default_factory=list)
    ready_seconds: float | None = None  # start -> ready, where the target started it
    deploy_seconds: float | None = None  # apply -> all ready, on clusters
    # Whether the harness's connections are spread over every API replica (False through a
    # port-forward, which reaches one pod): SC-002 asks for a tab on each replica only then.
    reaches_every_replica: bool = True

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}


class Target(Protocol):
    name: str
    capabilities: Capabilities

    @property
    def store_url(self) -> str | None:
        """The service's database, where the harness may reach it (local targets), else None."""

    def preflight(self) -> None:
        """Raise TargetUnavailable (one line, with the fix) when the target cannot work here."""

    def up(self) -> Deployment: ...

    def down(self) -> None: ...

    def replicas(self, role: str | None = None) -> list[str]:
        """Replica names of a role (``api``, ``consumers``, ``scheduler``); ``None``: the API's."""

    def kill(self, replica: str) -> None: ...

    def crash(self, role: str | None = None) -> None:
        """Kill every process of the service (or of one role) at once (``capabilities.crash``)."""

    def restart(self, role: str | None = None) -> None:
        """Start the service (or the role) again after ``crash``, on the same data; return when
        ready."""

    def stop_broker(self) -> None:
        """Take the broker away (``capabilities.broker``)."""

    def start_broker(self) -> None:
        """Bring the broker back."""
