"""Throwaway servers for the local target, started from the binaries on PATH (like
testcontainers, without Docker): a Redis broker that lives in the target's work directory, and
a PostgreSQL server in a directory of its own.

Redis runs with an append-only file fsynced on every write, so a stop and start (the
broker-outage experiment) keeps every message it acknowledged, as a broker should.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from harness.errors import TargetUnavailable

__all__ = ["ThrowawayPostgres", "ThrowawayRedis", "free_port", "stop_group"]

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def stop_group(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """End a process started with ``start_new_session``: SIGTERM to its group, SIGKILL after
    ``grace_s``, then SIGKILL again until no process of the group is left."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
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


class ThrowawayRedis:
    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise TargetUnavailable(
                "--bus redis without --redis-url needs redis-server on PATH "
                "(apt-get install redis-server), or pass --redis-url"
            )
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            self.binary,
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(self.directory),
            "--logfile",
            "redis.log",
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TargetUnavailable(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """SIGKILL: an outage, not a shutdown (the append-only file keeps what was acked)."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _postgres_binary(name: str) -> str | None:
    """On PATH, else in Debian's /usr/lib/postgresql/<version>/bin (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    for directory in reversed(versions):
        if (directory / name).is_file():
            return str(directory / name)
    return None


class ThrowawayPostgres:
    """A PostgreSQL server of its own: ``initdb`` into a fresh directory, trust auth on
    127.0.0.1 only, removed with everything in it by ``stop``. Run as the ``postgres`` user when
    the harness runs as root (the server refuses root)."""

    def __init__(self) -> None:
        initdb, server = _postgres_binary("initdb"), _postgres_binary("postgres")
        if initdb is None or server is None:
            raise TargetUnavailable(
                "--database postgres needs PostgreSQL's initdb and postgres "
                "(apt-get install postgresql), or pass --database-url"
            )
        self.initdb, self.server = initdb, server
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="taskora-postgres-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def _as_owner(self, command: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return command
        runuser = shutil.which("runuser")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if runuser is None or owner is None:
            raise TargetUnavailable("as root, a throwaway PostgreSQL needs the postgres user")
        os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        return [runuser, "-u", "postgres", "--", *command]

    def start(self) -> None:
        data = self.directory / "data"
        initdb = [
            self.initdb,
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        ]
        result = subprocess.run(self._as_owner(initdb), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            self.stop()
            raise TargetUnavailable(f"initdb failed: {result.stderr.strip().splitlines()[-1:]}")
        server = [
            self.server,
            "-D",
            str(data),
            "-p",
            str(self.port),
            "-k",
            str(self.directory),
            "-c",
            f"listen_addresses={HOST}",
            "-c",
            "max_connections=200",
        ]
        command = self._as_owner(server)
        with (self.directory / "postgres.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    time.sleep(0.3)  # listening; give it a moment to accept logins
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TargetUnavailable(f"the throwaway PostgreSQL did not start on port {self.port}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGINT)  # fast shutdown
                process.wait(timeout=30)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)
