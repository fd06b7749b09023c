"""The compose target: ``clusters/compose`` brought up with the Docker CLI (``docker compose``),
one container per role (api, consumers, scheduler) on PostgreSQL, Redis and Redpanda.

With ``--bus dapr`` the Dapr overlay (``compose.dapr.yaml``) is added: a daprd sidecar per role
and Redpanda behind the pubsub component; otherwise the roles use Redis Streams. The project has
a name of its own and a temporary env file with a random signing secret and database password,
removed by ``down`` together with the containers and volumes.

``kill`` SIGKILLs one role container and starts it again: Docker treats ``docker kill`` as a
deliberate stop, so the restart policy alone would leave it down. Every Docker command goes
through one runner, which turns a failure into a one-line ``TargetUnavailable``.
"""

from __future__ import annotations

import atexit
import contextlib
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.errors import TargetUnavailable
from harness.targets import Capabilities, Deployment
from harness.targets.commands import CommandFailed, run_command
from harness.targets.throwaway import free_port
from harness.targets.tokens import token_factory

__all__ = ["COMPOSE_DIR", "ROLES", "ComposeTarget", "Runner", "docker_runner"]

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "clusters" / "compose"
ROLES = ("api", "consumers", "scheduler")
HOST = "127.0.0.1"
DOCKER_TIMEOUT = 3600.0

Runner = Callable[[Sequence[str]], str]  # docker argv -> stdout; raises TargetUnavailable


def docker_runner(argv: Sequence[str]) -> str:
    """Run one docker command (a build and ``up --wait`` may take long)."""
    return run_command(argv, timeout=DOCKER_TIMEOUT)


class ComposeTarget:
    name = "compose"
    # A killed container is started again under its own id (docker start), not replaced.
    capabilities = Capabilities(
        kill=True, crash=True, broker=True, start_timing=True, renames_killed=False
    )
    store_url: str | None = None  # the database is not the harness's to reach

    def __init__(
        self,
        *,
        bus: str = "redis",
        runner: Runner = docker_runner,
        compose_dir: Path = COMPOSE_DIR,
        wait_timeout: float = 300.0,
    ) -> None:
        self.dapr = bus == "dapr"  # any other bus: the roles use Redis Streams
        self.run = runner
        self.compose_dir = compose_dir
        self.wait_timeout = wait_timeout
        self.project = f"taskora-harness-{secrets.token_hex(4)}"
        self.port = free_port()
        self.secret = secrets.token_urlsafe(48)
        self.env_file: Path | None = None

    @property
    def broker_service(self) -> str:
        return "redpanda" if self.dapr else "redis"

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def compose_files(self) -> list[Path]:
        names = ["compose.yaml", "compose.dapr.yaml"] if self.dapr else ["compose.yaml"]
        return [self.compose_dir / name for name in names]

    def _compose(self, *args: str) -> str:
        if self.env_file is None:
            raise TargetUnavailable("--target compose: the stack is not up (call up() first)")
        files = [arg for path in self.compose_files() for arg in ("-f", str(path))]
        argv = ["docker", "compose", "-p", self.project, "--env-file", str(self.env_file)]
        return self.run([*argv, *files, *args])

    def preflight(self) -> None:
        if shutil.which("docker") is None:
            raise TargetUnavailable("--target compose needs the docker CLI on PATH; install Docker")
        try:
            self.run(["docker", "info", "--format", "{{.ServerVersion}}"])
        except TargetUnavailable as exc:
            raise TargetUnavailable(
                f"--target compose needs a running Docker engine (docker info failed: "
                f"{_reason(exc)})"
            ) from None
        try:
            self.run(["docker", "compose", "version"])
        except TargetUnavailable as exc:
            raise TargetUnavailable(
                f"--target compose needs the Docker Compose plugin (docker compose version "
                f"failed: {_reason(exc)})"
            ) from None

    def _write_env_file(self) -> Path:
        directory = Path(tempfile.mkdtemp(prefix="taskora-compose-"))
        path = directory / "compose.env"
        path.touch(mode=0o600)
        path.write_text(
            f"TASKORA_JWT_SECRET={self.secret}\n"
            f"POSTGRES_PASSWORD={secrets.token_hex(24)}\n"
            f"APP_API_TOKEN={secrets.token_hex(32)}\n"  # the Dapr overlay's sidecars bring it
            f"TASKORA_API_PORT={self.port}\n"
            f"TASKORA_IMAGE=taskora:{self.project}\n"  # not the taskora:dev other targets load
        )
        return path

    def up(self) -> Deployment:
        self.preflight()
        if self.env_file is None:
            self.env_file = self._write_env_file()
        atexit.register(self.down)
        try:
            self._compose("build")  # not timed: SC-005 measures start -> ready
            started = time.monotonic()
            self._start()
            ready_seconds = time.monotonic() - started
            replicas = self.replicas()
        except TargetUnavailable:
            with contextlib.suppress(TargetUnavailable):
                self.down()
            raise
        return Deployment(
            target=self.name,
            base_url=self.base_url,
            token=token_factory(self.secret),
            replicas=replicas,
            ready_seconds=ready_seconds,
        )

    def _start(self) -> None:
        self._compose("up", "-d", "--wait", "--wait-timeout", str(int(self.wait_timeout)))

    def replicas(self, role: str | None = None) -> list[str]:
        """The container ids of one role (default: the api)."""
        service = role or "api"
        if service not in ROLES:
            raise ValueError(f"no role {service!r}: one of {', '.join(ROLES)}")
        if self.env_file is None:
            return []
        return self._compose("ps", "-q", service).split()

    def _role_of(self, container: str) -> str:
        for role in ROLES:
            if container in self.replicas(role):
                return role
        raise ValueError(f"no replica {container!r}: kill takes a container id of {ROLES}")

    def kill(self, replica: str) -> None:
        """SIGKILL one role container, then start it again (as a ReplicaSet would)."""
        role = self._role_of(replica)
        self.run(["docker", "kill", replica])
        self.run(["docker", "start", replica])
        self._reattach_sidecars([role])

    def _reattach_sidecars(self, roles: Sequence[str]) -> None:
        """A daprd sidecar shares its role's network namespace, which a restarted container
        no longer has: restart the sidecars of ``roles`` so they join the new one."""
        if self.dapr:
            self._compose("restart", *(f"daprd-{role}" for role in roles))

    def crash(self, role: str | None = None) -> None:
        """SIGKILL every role container (or those of ``role``) at once; the data stays."""
        containers = [c for name in self._roles(role) for c in self.replicas(name)]
        if containers:
            self.run(["docker", "kill", *containers])

    def restart(self, role: str | None = None) -> None:
        """Start what ``crash`` killed again (compose starts every stopped service)."""
        self._start()
        self._reattach_sidecars(self._roles(role))

    @staticmethod
    def _roles(role: str | None) -> Sequence[str]:
        if role is not None and role not in ROLES:
            raise ValueError(f"no role {role!r}: one of {', '.join(ROLES)}")
        return ROLES if role is None else (role,)

    def stop_broker(self) -> None:
        self._compose("stop", self.broker_service)

    def start_broker(self) -> None:
        self._compose("start", self.broker_service)

    def down(self) -> None:
        """Remove the containers, volumes and network, then the env file holding the secret."""
        atexit.unregister(self.down)
        env_file = self.env_file
        if env_file is None:
            return
        try:
            self._compose("down", "-v", "--remove-orphans")
        finally:
            self.env_file = None
            shutil.rmtree(env_file.parent, ignore_errors=True)


def _reason(exc: TargetUnavailable) -> str:
    """What the tool said, without the name of the command."""
    return exc.reason if isinstance(exc, CommandFailed) else str(exc)
