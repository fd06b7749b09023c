"""The SQLite write gate: one writer at a time across threads and processes; re-entrant."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from taskora.db import Database, WriteGate

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
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
    holder = subprocess.Popen([sys.executable, "-c", HOLD, f"{tmp_path / 'db.sqlite'}-writelock",
                               "0.5"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with database.write():
            waited = time.monotonic() - started
        assert waited >= 0.3
    finally:
        holder.communicate(timeout=10)
        database.dispose()
