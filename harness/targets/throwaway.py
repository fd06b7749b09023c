"""Throwaway servers for the local target, started from the binaries on PATH (like
testcontainers, without Docker): a Redis broker that lives in the target's work directory.

Redis runs with an append-only file fsynced on every write, so a stop and start (the
broker-outage experiment) keeps every message it acknowledged, as a broker should.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from harness.errors import TargetUnavailable

__all__ = ["ThrowawayRedis", "free_port"]

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


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
        command = [self.binary, "--bind", HOST, "--port", str(self.port), "--save", "",
                   "--appendonly", "yes", "--appendfsync", "always",
                   "--dir", str(self.directory), "--logfile", "redis.log"]  # fmt: skip
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
