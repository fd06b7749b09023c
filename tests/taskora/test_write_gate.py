"""The SQLite write gate: one writer at a time across threads and processes; re-entrant."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from taskora.db import Database, WriteGate

HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()  # until told to let go
"""


def test_threads_take_turns_and_a_thread_may_reenter(tmp_path: Path) -> None:
    gate = WriteGate(str(tmp_path / "db.sqlite"))
    inside, overlaps = [], []

    def write() -> None:
        with gate.held(), gate.held():  # re-entrant
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.01)
            inside.pop()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert overlaps == [1] * 8
    gate.close()


def test_another_process_holding_the_gate_makes_writers_wait(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, f"{tmp_path / 'db.sqlite'}-writelock"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    entered, released = threading.Event(), threading.Event()
    order: list[str] = []

    def write() -> None:
        with database.write():
            order.append("written after release" if released.is_set() else "written while held")
            entered.set()

    writer = threading.Thread(target=write, name="gated-writer")
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        writer.start()
        assert not entered.wait(0.3), "wrote while another process held the gate"
        released.set()
        holder.communicate("go\n", timeout=10)  # the holder exits: the gate is free
        assert entered.wait(10), "the writer did not get the gate once it was free"
        assert order == ["written after release"]
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate(timeout=10)
        writer.join(timeout=10)
        database.dispose()
