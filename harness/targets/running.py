"""The local stack ``python -m harness up`` left running, as a target to attach to.

``up`` writes a state file (``.harness/up.json``, readable by its owner only): the URL, the JWT
secret and each role's process group. ``down`` stops those groups; ``chaos run`` attaches to
them through ``RunningLocalTarget``: it kills workers (the supervisor starts new ones) but does
not own the processes, so it can neither crash nor restart the service.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from harness.errors import TargetUnavailable
from harness.targets import Capabilities, Deployment
from harness.targets.local import worker_pids
from harness.targets.tokens import token_factory

__all__ = ["STATE", "RunningLocalTarget", "StackState"]

STATE = Path(".harness") / "up.json"


@dataclass(frozen=True)
class StackState:
    url: str
    secret: str
    roles: dict[str, int]  # role (all, api, consumers, scheduler) -> its process group
    database_url: str | None = None  # the service's database (poison events are planted there)

    def save(self, path: Path = STATE) -> None:
        path.parent.mkdir(exist_ok=True)
        text = json.dumps(
            {
                "url": self.url,
                "secret": self.secret,
                "roles": self.roles,
                "database_url": self.database_url,
            }
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the secret
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)

    @classmethod
    def load(cls, path: Path = STATE) -> StackState:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except OSError:
            raise TargetUnavailable(
                f"no running local stack ({path} is missing): start one with python -m harness up"
            ) from None
        if "secret" not in state:  # written by an older version
            raise TargetUnavailable(
                "the running stack was started by an older harness: python -m harness down, "
                "then python -m harness up"
            )
        roles = {k: int(v) for k, v in state["roles"].items()}
        return cls(state["url"], state["secret"], roles, state.get("database_url"))

    @staticmethod
    def process_groups(path: Path = STATE) -> list[int]:
        """Every process group the file names (also the older ``pgids``/``pgid`` forms)."""
        state = json.loads(path.read_text(encoding="utf-8"))
        groups = state.get("roles", {}).values() or state.get("pgids", [state.get("pgid")])
        return [int(g) for g in groups if g]


class RunningLocalTarget:
    name = "local"

    def __init__(self, state: StackState) -> None:
        self.state = state
        self.capabilities = Capabilities(kill=True, database=state.database_url is not None)
        self.store_url = state.database_url

    def preflight(self) -> None:
        for role, group in self.state.roles.items():
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                raise TargetUnavailable(
                    f"the local stack's {role} role (process group {group}) is not running: "
                    "python -m harness down, then python -m harness up"
                ) from None

    def up(self) -> Deployment:
        self.preflight()
        token = token_factory(self.state.secret)
        return Deployment(self.name, self.state.url, token, replicas=self.replicas())

    def down(self) -> None:
        """Nothing: the stack belongs to ``harness up`` and stops with ``harness down``."""

    def _groups(self, role: str | None) -> list[int]:
        if role is None:  # the API: the stack's first role (all or api)
            return list(self.state.roles.values())[:1]
        return [g for r, g in self.state.roles.items() if r in (role, "all")]

    def replicas(self, role: str | None = None) -> list[str]:
        """The worker processes (pids) of a role, or its server when it runs one worker."""
        return [str(p) for group in self._groups(role) for p in worker_pids(group) or [group]]

    def kill(self, replica: str) -> None:
        known = [pid for role in self.state.roles for pid in self.replicas(role)]
        if replica not in known:
            raise ValueError(f"no replica {replica!r}; replicas: {known}")
        os.kill(int(replica), signal.SIGKILL)

    def _not_owned(self, what: str) -> TargetUnavailable:
        return TargetUnavailable(
            f"a stack started by python -m harness up cannot be {what} from outside: run this "
            "experiment with python -m harness chaos, which starts a stack it owns"
        )

    def crash(self, role: str | None = None) -> None:
        raise self._not_owned("crashed and restarted")

    def restart(self, role: str | None = None) -> None:
        raise self._not_owned("restarted")

    def stop_broker(self) -> None:
        raise self._not_owned("left without its broker")

    def start_broker(self) -> None:
        raise self._not_owned("given its broker back")
