"""The local target: ``taskora serve --workers N`` as its own process group on a free port,
with a fresh SQLite file (or the database and bus given; ``--database postgres`` and ``--bus
redis`` without a URL start throwaway servers of their own). ``kill`` SIGKILLs one worker,
which its supervisor restarts, as a ReplicaSet would; ``crash`` kills the whole service and
``restart`` starts it again on the same data. Everything it started is stopped by ``down``,
also after Ctrl-C or a failure (an ``atexit`` hook is the last resort)."""

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
from pathlib import Path

import httpx

from harness.errors import TargetUnavailable
from harness.targets import Capabilities, Deployment
from harness.targets.throwaway import ThrowawayPostgres, ThrowawayRedis, free_port
from harness.targets.tokens import token_factory

__all__ = ["LocalTarget"]

HOST = "127.0.0.1"


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class LocalTarget:
    name = "local"
    capabilities = Capabilities(kill=True, start_timing=True, crash=True)

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
    ) -> None:
        self.workers = workers
        self.database_url = database_url
        self.bus = bus
        self.redis_url = redis_url
        self.extra_env = env or {}
        self.ready_timeout = ready_timeout
        self.secret = secrets.token_urlsafe(32)
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="taskora-harness-"))
        self.log_path = self.workdir / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.broker: ThrowawayRedis | None = None
        self.postgres: ThrowawayPostgres | None = None
        if database == "postgres" and not database_url:
            self.postgres = ThrowawayPostgres()
            self.database_url = self.postgres.url
        if bus == "redis" and not redis_url:
            self.broker = ThrowawayRedis(self.workdir / "redis")
            self.redis_url = self.broker.url
            self.capabilities = Capabilities(kill=True, start_timing=True, crash=True, broker=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _command(self) -> list[str]:
        beside = Path(sys.executable).parent / "taskora"
        taskora = str(beside) if beside.exists() else shutil.which("taskora")
        if taskora is None:
            raise TargetUnavailable(
                "the taskora command is not installed here: pip install -e . (or nox -s validate)"
            )
        return [taskora, "serve", "--host", HOST, "--port", str(self.port),
                "--workers", str(self.workers), "--drain-seconds", "5"]  # fmt: skip

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKORA_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(
            TASKORA_JWT_SECRET=self.secret,
            TASKORA_DATABASE_URL=self.database_url or f"sqlite:///{self.workdir / 'taskora.db'}",
            TASKORA_BUS=self.bus,
            TASKORA_ACCESS_LOG="false",
        )
        if self.redis_url:
            env["TASKORA_REDIS_URL"] = self.redis_url
            env["TASKORA_REDIS_PREFIX"] = f"harness-{self.port}"
        env.update(self.extra_env)
        return env

    def preflight(self) -> None:
        self._command()

    def detach(self) -> None:
        """Leave the service running after this process exits (``harness up``)."""
        atexit.unregister(self.down)
        self.process = None

    def up(self) -> Deployment:
        started = time.monotonic()
        if self.broker is not None and not self.broker.running:
            self.broker.start()
        if self.postgres is not None and self.postgres.process is None:
            self.postgres.start()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self._command(), env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        atexit.register(self.down)
        self._wait_ready(started)
        return Deployment(
            target=self.name,
            base_url=self.base_url,
            token=token_factory(self.secret),
            replicas=self.replicas(),
            ready_seconds=time.monotonic() - started,
        )

    def _wait_ready(self, started: float) -> None:
        assert self.process is not None
        while time.monotonic() - started < self.ready_timeout:
            if self.process.poll() is not None:
                self.down()
                raise TargetUnavailable(f"taskora serve exited: {self._log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.down()
        raise TargetUnavailable(f"taskora serve not ready after {self.ready_timeout:.0f} s")

    def _log_tail(self) -> str:
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(no output)"

    def replicas(self) -> list[str]:
        """The worker processes (pids), or the server itself when it runs one worker."""
        if self.process is None:
            return []
        workers = [p for p in _children(self.process.pid) if self._is_worker(p)]
        return [str(p) for p in workers] or [str(self.process.pid)]

    @staticmethod
    def _is_worker(pid: int) -> bool:
        try:
            return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    def kill(self, replica: str) -> None:
        """SIGKILL one worker; the supervisor starts a new one."""
        if replica not in self.replicas():
            raise ValueError(f"no replica {replica!r}; replicas: {self.replicas()}")
        os.kill(int(replica), signal.SIGKILL)

    def crash(self) -> None:
        """SIGKILL every process of the service at once (the data stays)."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self._stop_service()
        self.up()

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
        process, self.process = self.process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until every process of the group is gone
            try:
                os.killpg(process.pid, signal.SIGKILL)  # whatever the leader left behind
            except ProcessLookupError:
                break
            time.sleep(0.05)
