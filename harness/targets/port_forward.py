"""``PortForward``: a ``kubectl port-forward`` kept alive by a supervisor thread. A forward to a
Service binds to one pod: when that pod dies, the forward dies or goes deaf, and is started
again."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["PortForward"]


class PortForward:
    """``command`` (a ``kubectl port-forward``) as a child in its own process group, started
    again whenever it exits or ``healthy()`` fails ``unhealthy_after`` checks in a row."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        healthy: Callable[[], bool] | None = None,
        check_every: float = 2.0,
        unhealthy_after: int = 3,
        restart_delay: float = 0.5,
        log: Path | None = None,
    ) -> None:
        self.command = list(command)
        self.healthy = healthy
        self.check_every = check_every
        self.unhealthy_after = unhealthy_after
        self.restart_delay = restart_delay
        self.log = log
        self.starts = 0
        self.child: subprocess.Popen[bytes] | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopped.clear()
        self._spawn()
        self._thread = threading.Thread(target=self._supervise, name="port-forward", daemon=True)
        self._thread.start()

    def _spawn(self) -> None:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        try:
            self.child = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if self.log and not isinstance(out, int):
                out.close()
        self.starts += 1

    def _supervise(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            child = self.child
            assert child is not None
            try:
                child.wait(timeout=self.check_every)
            except subprocess.TimeoutExpired:
                if self.healthy is None or self.healthy():
                    failures = 0
                    continue
                failures += 1
                if failures < self.unhealthy_after:
                    continue
                self._kill(child)  # alive but deaf: its pod is gone
            failures = 0
            if self._stopped.wait(self.restart_delay):
                break
            self._spawn()

    @staticmethod
    def _kill(child: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait(timeout=10)

    def stop(self) -> None:
        self._stopped.set()
        if self.child is not None:
            self._kill(self.child)
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self.child is not None and self.child.poll() is None:  # spawned while stopping
            self._kill(self.child)
        self.child, self._thread = None, None
