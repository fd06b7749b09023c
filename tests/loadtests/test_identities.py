"""The Locust users spread over several processes never share an identity while there are enough
(a shared one deletes the tasks its twin then reads). The locustfile imports Locust, which
monkey-patches with gevent, so each process is a subprocess here, as in a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TAKE = """
import json, sys
from loadtests import taskora_load
index, count = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps([taskora_load._identity(index)["token"] for _ in range(count)]))
"""


def _tokens(users_file: Path, processes: int, index: int, count: int) -> list[str]:
    env = {
        **os.environ,
        "TASKORA_LOAD_USERS_FILE": str(users_file),
        "TASKORA_LOAD_PROCESSES": str(processes),
    }
    done = subprocess.run(
        [sys.executable, "-c", TAKE, str(index), str(count)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_process_takes_identities_no_other_process_takes(tmp_path: Path) -> None:
    users_file = tmp_path / "users.json"
    users_file.write_text(json.dumps([{"token": f"t{n}", "tasks": []} for n in range(12)]))
    taken = [_tokens(users_file, 3, index, 4) for index in range(3)]
    assert taken[1] == ["t1", "t4", "t7", "t10"]
    every = [token for tokens in taken for token in tokens]
    assert sorted(every) == sorted(f"t{n}" for n in range(12))  # all twelve, none twice
