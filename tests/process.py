"""``taskora serve`` as a real process group, for tests that need real workers and signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.readiness import Readiness, wait_ready
from taskora.auth import issue_token
from taskora.settings import Settings

SECRET = "process-test-secret-that-is-long-enough"


def group_gone(pgid: int) -> bool:
    """No process of the process group is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    database_url: str
    log_path: Path
    workers: int = 2
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, user: str, *, ttl_seconds: int | None = None) -> str:
        return issue_token(Settings(jwt_secret=SECRET), user, ttl_seconds=ttl_seconds)

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def start(self, *, timeout: float = 60) -> None:
        env = {
            **os.environ,
            "TASKORA_DATABASE_URL": self.database_url,
            "TASKORA_JWT_SECRET": SECRET,
            "TASKORA_ACCESS_LOG": "false",
            **self.env,
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        command = [sys.executable, "-m", "taskora", "serve", "--port", str(self.port)]
        command += ["--workers", str(self.workers), "--drain-seconds", "5"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
            )
        process = self.process
        exited = lambda: process.poll() is not None  # noqa: E731
        if wait_ready(f"{self.base_url}/ready", timeout=timeout, exited=exited) is Readiness.READY:
            return
        self.kill()
        raise RuntimeError(
            "taskora serve did not become ready:\n" + self.log_path.read_text()[-3000:]
        )

    def kill(self) -> None:
        """SIGKILL the whole process group: supervisor and every worker, mid-whatever (workers
        too where the supervisor is already gone)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the whole group has exited
        self.process.wait(timeout=10)

    def stop(self) -> int:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=30)


@contextmanager
def running(database_url: str, log_path: Path, **options: object) -> Iterator[Server]:
    server = Server(database_url, log_path, **options)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.kill()
