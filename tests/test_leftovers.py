"""The leftover guard's eyes: it sees a thread the test started until the thread ends, and a
process spawned from the test even after init adopted it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests import leftovers
from tests.waiting import wait_until


def test_a_started_thread_is_seen_until_it_ends() -> None:
    before = leftovers.threads()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="left-running")
    thread.start()
    try:
        assert leftovers.threads() - before == {thread}
        assert "'left-running' running Event.wait" in leftovers.describe_thread(thread)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert leftovers.threads() - before == set()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_orphaned_grandchild_is_seen_and_killed() -> None:
    spawned = subprocess.run(
        ["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(spawned.stdout)
    try:
        found = leftovers.processes()
        assert pid in found, f"a process spawned from the test was not seen: {_why_not(pid)}"
        assert found[pid].parent != os.getpid() and "sleep 60" in found[pid].command
    finally:
        leftovers.kill([leftovers.Process(pid, 0, "sleep 60")])
    wait_until(lambda: pid not in leftovers.processes(), 5, "the orphan to be gone")


def _fake_proc(directory: Path, *, flags: int) -> Path:
    directory.mkdir()
    (directory / "environ").write_bytes(b"")
    (directory / "stat").write_text(f"8706 (sh) R 1 8706 8706 0 -1 {flags} 0 0")
    return directory


def test_a_process_caught_inside_execve_is_read_again_until_its_environment_is_set(
    tmp_path: Path,
) -> None:
    # Inside execve a process shows an empty environment for a moment: the guard once missed
    # an orphan that way (state R, nothing in /proc/PID/environ; a loaded CI run).
    proc = _fake_proc(tmp_path / "8706", flags=0)
    marker = f"{leftovers.MARKER}=x".encode()
    timer = threading.Timer(0.02, (proc / "environ").write_bytes, [marker + b"\0PATH=/bin\0"])
    timer.start()
    try:
        assert marker in leftovers._environ(proc).split(b"\0")
    finally:
        timer.join()
    kernel = _fake_proc(tmp_path / "2", flags=leftovers.PF_KTHREAD)
    assert leftovers._environ(kernel) == b""  # a kernel thread has none: not waited for


def _why_not(pid: int) -> str:
    """What the guard read of the process (one flakes run missed it; the cause is not known)."""
    proc = Path(f"/proc/{pid}")
    marker = os.environ.get(leftovers.MARKER)
    try:
        environ = (proc / "environ").read_bytes().split(b"\0")
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError as exc:
        return f"marker {marker!r}; /proc/{pid} unreadable: {exc}"
    carried = f"{leftovers.MARKER}={marker}".encode() in environ
    return f"marker {marker!r}; state {state}; {len(environ)} environ entries; marked: {carried}"
