"""The local target: ``taskora serve --workers N`` as its own process group on a free port,
with a fresh SQLite file (or the database and bus given; ``--database postgres`` and ``--bus
redis`` without a URL start throwaway servers of their own). With ``split_roles`` the api (N
workers), consumers and scheduler roles run as three process groups on one database, as they
would in a cluster. ``kill`` SIGKILLs one worker, which its supervisor restarts, as a ReplicaSet
would; ``crash`` kills the whole service (or one role) and ``restart`` starts it again on the
same data. Everything it started is stopped by ``down``, also after Ctrl-C or a failure (an
``atexit`` hook is the last resort)."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import TargetUnavailable
from harness.readiness import Readiness, wait_ready
from harness.targets import Capabilities, Deployment
from harness.targets.throwaway import ThrowawayPostgres, ThrowawayRedis, free_port, stop_group
from harness.targets.tokens import token_factory

__all__ = ["LocalTarget", "worker_pids"]

HOST = "127.0.0.1"


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def worker_pids(server: int) -> list[int]:
    """The worker processes a ``taskora serve --workers N`` supervisor runs (none for N = 1)."""
    return [p for p in _children(server) if _is_worker(p)]


@dataclass
class RoleProcess:
    """One ``taskora serve --role ROLE`` process group."""

    role: str
    port: int
    workers: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


class LocalTarget:
    name = "local"
    capabilities = Capabilities(kill=True, start_timing=True, crash=True, database=True)

    def __init__(
        self,
        *,
        workers: int = 2,
        database_url: str | None = None,
        database: str = "sqlite",
        bus: str = "inline",
        redis_url: str | None = None,
        env: dict[str, str] | None = None,
        ready_timeout: float = 180.0,
        split_roles: bool = False,
    ) -> None:
        self.workers = workers
        self.database_url = database_url
        self.bus = bus
        self.redis_url = redis_url
        self.extra_env = env or {}
        self.ready_timeout = ready_timeout
        self.secret = secrets.token_urlsafe(32)
        self.app_token = secrets.token_urlsafe(32)
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="taskora-harness-"))
        self.log_path = self.workdir / "serve.log"
        self.roles = (
            [
                RoleProcess("api", self.port, workers),
                RoleProcess("consumers", free_port(), 1),
                RoleProcess("scheduler", free_port(), 1),
            ]
            if split_roles
            else [RoleProcess("all", self.port, workers)]
        )
        self.broker: ThrowawayRedis | None = None
        self.postgres: ThrowawayPostgres | None = None
        if database == "postgres" and not database_url:
            self.postgres = ThrowawayPostgres()
            self.database_url = self.postgres.url
        if bus == "redis" and not redis_url:
            self.broker = ThrowawayRedis(self.workdir / "redis")
            self.redis_url = self.broker.url
            self.capabilities = Capabilities(
                kill=True, start_timing=True, crash=True, broker=True, database=True
            )

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The process group serving the API (``all`` or ``api``)."""
        return self.roles[0].process

    def process_groups(self) -> dict[str, int]:
        """Each running role's process group."""
        return {r.role: r.process.pid for r in self.roles if r.process is not None}

    def scrape_targets(self) -> dict[str, str]:
        """Each role's ``host:port``, where its ``/metrics`` aggregates its workers."""
        return {role.role: f"{HOST}:{role.port}" for role in self.roles}

    def _command(self, role: RoleProcess) -> list[str]:
        beside = Path(sys.executable).parent / "taskora"
        taskora = str(beside) if beside.exists() else shutil.which("taskora")
        if taskora is None:
            raise TargetUnavailable(
                "the taskora command is not installed here: pip install -e . (or nox -s validate)"
            )
        return [
            taskora,
            "serve",
            "--host",
            HOST,
            "--port",
            str(role.port),
            "--role",
            role.role,
            "--workers",
            str(role.workers),
            "--drain-seconds",
            "5",
        ]

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKORA_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(
            TASKORA_JWT_SECRET=self.secret,
            TASKORA_DATABASE_URL=self.store_url,
            # The consumers' Dapr and cron routes answer only a caller with this token, as in
            # production (without one a development stack leaves them open).
            TASKORA_APP_API_TOKEN=self.app_token,
            TASKORA_BUS=self.bus,
            TASKORA_ACCESS_LOG="false",
        )
        if self.redis_url:
            env["TASKORA_REDIS_URL"] = self.redis_url
            env["TASKORA_REDIS_PREFIX"] = f"harness-{self.port}"
        env.update(self.extra_env)
        return env

    @property
    def store_url(self) -> str:
        """The service's database (chaos plants poison events there)."""
        return self.database_url or f"sqlite:///{self.workdir / 'taskora.db'}"

    def preflight(self) -> None:
        self._command(self.roles[0])

    def detach(self) -> None:
        """Leave the service running after this process exits (``harness up``)."""
        atexit.unregister(self.down)
        for role in self.roles:
            role.process = None

    def up(self) -> Deployment:
        started = time.monotonic()
        if self.broker is not None and not self.broker.running:
            self.broker.start()
        if self.postgres is not None and self.postgres.process is None:
            self.postgres.start()
        self._start_roles(self.roles, started)
        return Deployment(
            target=self.name,
            base_url=self.base_url,
            token=token_factory(self.secret),
            replicas=self.replicas(),
            ready_seconds=time.monotonic() - started,
        )

    def _start_roles(self, roles: list[RoleProcess], started: float) -> None:
        """Start the roles' process groups together, then wait until each answers ready."""
        with self.log_path.open("ab") as log:
            for role in roles:
                role.process = subprocess.Popen(
                    self._command(role),
                    env=self._env(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        atexit.register(self.down)
        for role in roles:
            self._wait_ready(role, started)

    def _wait_ready(self, role: RoleProcess, started: float) -> None:
        process = role.process
        assert process is not None
        left = self.ready_timeout - (time.monotonic() - started)
        readiness = wait_ready(
            f"{role.base_url}/ready",
            timeout=max(left, 0),
            exited=lambda: process.poll() is not None,
        )
        if readiness is Readiness.READY:
            return
        self.down()
        if readiness is Readiness.EXITED:
            raise TargetUnavailable(f"taskora serve --role {role.role} exited: {self._log_tail()}")
        raise TargetUnavailable(
            f"taskora serve --role {role.role} not ready after {self.ready_timeout:.0f} s"
        )

    def _log_tail(self) -> str:
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(no output)"

    def _selected(self, role: str | None) -> list[RoleProcess]:
        """The role's process groups; ``None`` is the API (``all`` or ``api``)."""
        if role is None:
            return self.roles[:1]
        chosen = [r for r in self.roles if r.role in (role, "all")]
        if not chosen:
            raise ValueError(f"no role {role!r}; roles: {[r.role for r in self.roles]}")
        return chosen

    def replicas(self, role: str | None = None) -> list[str]:
        """The worker processes (pids) of a role, or its server when it runs one worker."""
        pids: list[str] = []
        for chosen in self._selected(role):
            if chosen.process is None or chosen.process.poll() is not None:
                continue
            workers = worker_pids(chosen.process.pid)
            pids += [str(p) for p in workers] or [str(chosen.process.pid)]
        return pids

    def kill(self, replica: str) -> None:
        """SIGKILL one worker; the supervisor starts a new one."""
        known = [pid for r in self.roles for pid in self.replicas(r.role)]
        if replica not in known:
            raise ValueError(f"no replica {replica!r}; replicas: {known}")
        os.kill(int(replica), signal.SIGKILL)

    def crash(self, role: str | None = None) -> None:
        """SIGKILL every process of the service (or of one role) at once; the data stays."""
        for chosen in self.roles if role is None else self._selected(role):
            if chosen.process is not None:
                try:
                    os.killpg(chosen.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                chosen.process.wait(timeout=10)

    def restart(self, role: str | None = None) -> None:
        """Start the service (or one role) again on the same data; return when ready."""
        if role is None:
            self._stop_service()
            self.up()
            return
        chosen = self._selected(role)
        for process in chosen:
            self._stop_role(process)
        self._start_roles(chosen, time.monotonic())

    def stop_broker(self) -> None:
        if self.broker is None:
            raise TargetUnavailable("no broker to stop: the local target runs --bus redis for it")
        self.broker.stop()

    def start_broker(self) -> None:
        if self.broker is None:
            raise TargetUnavailable("no broker to start: the local target runs --bus redis for it")
        if not self.broker.running:
            self.broker.start()

    def down(self) -> None:
        self._stop_service()
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()
        atexit.unregister(self.down)

    def _stop_service(self) -> None:
        for role in self.roles:
            self._stop_role(role)

    @staticmethod
    def _stop_role(role: RoleProcess) -> None:
        process, role.process = role.process, None
        if process is not None:
            stop_group(process)
