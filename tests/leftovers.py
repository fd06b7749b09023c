"""What a test leaves behind: threads it started, processes it spawned still running.
``tests/conftest.py`` compares before and after every test and fails the test that leaves
anything.

Processes are recognised by a marker in their environment (``MARKER``, set once per test
process and inherited by everything spawned from it), so a grandchild whose parent died and
which init adopted is found too (Linux /proc; elsewhere only threads are checked).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MARKER",
    "Process",
    "describe_thread",
    "kill",
    "mark_descendants",
    "processes",
    "threads",
]

MARKER = "TESTS_SPAWNED_BY"  # not TASKORA_*: the settings read those
PROC = Path("/proc")


def mark_descendants() -> None:
    """Give this process a marker every process spawned from it inherits."""
    os.environ.setdefault(MARKER, f"{os.getpid()}-{uuid.uuid4().hex[:12]}")


def threads() -> set[threading.Thread]:
    """The Python threads alive now (threads started by foreign code are not tracked)."""
    foreign = threading._DummyThread
    return {t for t in threading.enumerate() if t.is_alive() and not isinstance(t, foreign)}


def describe_thread(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None)
    runs = getattr(target, "__qualname__", None) or type(thread).__qualname__
    return f"thread {thread.name!r} running {runs} (daemon={thread.daemon})"


PF_KTHREAD = 0x00200000  # /proc/PID/stat's flags: a kernel thread
EXEC_WAIT_S = 0.2  # how long an empty environment may be a process inside execve


@dataclass(frozen=True)
class Process:
    pid: int
    parent: int
    command: str

    def __str__(self) -> str:
        return f"process {self.pid} (parent {self.parent}): {self.command}"


def _environ(directory: Path) -> bytes:
    """The process's environment. A process caught inside execve shows an empty one for a
    moment (its new memory holds none yet): a user process's empty environment is read again
    until it is set, the process is gone, or EXEC_WAIT_S passed (an environment emptied on
    purpose, ``env -i``). Kernel threads and zombies have none, and are not waited for."""
    deadline = time.monotonic() + EXEC_WAIT_S
    while True:
        environ = (directory / "environ").read_bytes()
        if environ or time.monotonic() >= deadline:
            return environ
        fields = (directory / "stat").read_text().rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X") or int(fields[6]) & PF_KTHREAD:
            return environ
        time.sleep(0.001)


def _marked(pid: int, marker: bytes) -> Process | None:
    """The process if it is alive (not a zombie) and carries the marker."""
    directory = PROC / str(pid)
    try:
        if marker not in _environ(directory).split(b"\0"):
            return None
        stat = (directory / "stat").read_text()
        argv = (directory / "cmdline").read_bytes()
    except OSError:  # gone meanwhile, or not ours to read
        return None
    # "pid (comm) state ppid ...": comm may itself hold spaces and parentheses
    state, parent = stat[stat.rindex(")") + 2 :].split()[:2]
    if state in ("Z", "X"):
        return None
    command = " ".join(argv.decode(errors="replace").split("\0")).strip()
    return Process(pid, int(parent), command[:200])


def processes() -> dict[int, Process]:
    """Every living process spawned from this one, however far down and whoever adopted it
    (empty where there is no /proc or no marker)."""
    value = os.environ.get(MARKER)
    if value is None or not PROC.is_dir():
        return {}
    marker = f"{MARKER}={value}".encode()
    own = os.getpid()
    found = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and int(entry.name) != own:
            process = _marked(int(entry.name), marker)
            if process is not None:
                found[process.pid] = process
    return found


def kill(leftover: list[Process]) -> None:
    """SIGKILL each; wait for those that are children of this process."""
    for process in leftover:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        if process.parent == os.getpid():
            try:
                os.waitpid(process.pid, 0)
            except ChildProcessError:
                pass
