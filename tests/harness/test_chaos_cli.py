"""``chaos run``, the Chaos Toolkit CLI, runs an experiment of ``chaos/`` against the stack
``python -m harness up`` started: it kills a worker under write load and judges the writes
itself, passing on a healthy stack and failing where writes are lost (a planted fault).
Everything runs as a user runs it: ``harness up``, ``chaos run``, ``harness down`` as processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.process import group_gone
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHAOS = Path(sys.executable).parent / "chaos"
EXPERIMENT = ROOT / "chaos" / "kill-replica-under-load.json"
POISON = ROOT / "chaos" / "poison-event-under-load.json"
KILL_ONCE = ("cycles:int=1", "every_s:float=1")
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TASKORA_CHAOS_TARGET": "local"}


def _run(command: list[str], directory: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=directory,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def stack(directory: Path, *flags: str) -> Iterator[None]:
    """``python -m harness up`` in ``directory``; ``harness down`` after, waiting until every
    process it started is gone."""
    up = _run([sys.executable, "-m", "harness", "up", "--workers", "2", *flags], directory, 180)
    assert up.returncode == 0, up.stdout + up.stderr
    state = json.loads((directory / ".harness" / "up.json").read_text())
    assert (directory / ".harness" / "up.json").stat().st_mode & 0o077 == 0  # holds the secret
    try:
        yield
    finally:
        down = _run([sys.executable, "-m", "harness", "down"], directory, 60)
        assert down.returncode == 0, down.stdout + down.stderr
        for group in state["roles"].values():
            wait_until(lambda g=group: group_gone(g), timeout=30, what=f"group {group} gone")


def _chaos_run(
    directory: Path, experiment: Path = EXPERIMENT, variables: tuple[str, ...] = KILL_ONCE
) -> tuple[int, dict[str, Any]]:
    journal = directory / "journal.json"
    command = [
        str(CHAOS),
        "--log-file",
        str(directory / "chaostoolkit.log"),
        "run",
        "--journal-path",
        str(journal),
    ]
    for variable in variables:
        command += ["--var", variable]
    command.append(str(experiment))
    result = _run(command, directory, 300)
    assert journal.is_file(), result.stdout + result.stderr
    return result.returncode, json.loads(journal.read_text())


def _outputs(journal: dict[str, Any], name: str) -> list[Any]:
    runs = [*journal["run"], *journal["steady_states"]["after"]["probes"]]
    return [r.get("output") for r in runs if r["activity"]["name"] == name]


@pytest.fixture(autouse=True)
def _needs_chaos() -> None:
    if not CHAOS.exists():
        pytest.skip("the chaos command is not installed (pip install -e '.[chaos]')")


def test_chaos_run_kills_a_worker_of_a_running_stack_and_loses_nothing(tmp_path: Path) -> None:
    with stack(tmp_path):
        code, journal = _chaos_run(tmp_path)
    assert (code, journal["status"], journal["deviated"]) == (0, "completed", False)
    [kills] = _outputs(journal, "kill-replicas")
    assert kills == 1
    [written] = _outputs(journal, "writers-stop")
    assert written["acknowledged"] > 0
    assert (written["lost"], written["undelivered"], written["duplicates"]) == (0, 0, 0)
    assert _outputs(journal, "acknowledged-writes-intact") == [True]


def test_chaos_run_fails_where_acknowledged_writes_are_lost(tmp_path: Path) -> None:
    with stack(tmp_path, "--failpoints", "lose_writes=0.3"):
        code, journal = _chaos_run(tmp_path)
    assert code == 1
    assert journal["deviated"] is True
    [written] = _outputs(journal, "writers-stop")
    assert written["lost"] > 0
    assert _outputs(journal, "acknowledged-writes-intact") == [False]


def test_poison_events_are_dead_lettered_while_good_ones_flow(tmp_path: Path) -> None:
    with stack(tmp_path):
        code, journal = _chaos_run(tmp_path, POISON, ("poison_within_s:float=10",))
    assert (code, journal["status"], journal["deviated"]) == (0, "completed", False)
    [planted] = _outputs(journal, "poison-plant")
    assert set(planted["refused"].values()) <= {401, 422}  # every hostile request refused
    assert len(planted["planted"]) == 1 and planted["completed_task"]
    [written] = _outputs(journal, "writers-stop")
    assert written["acknowledged"] > 0
    assert (written["lost"], written["undelivered"], written["duplicates"]) == (0, 0, 0)
    assert _outputs(journal, "poison-contained") == [True]


def test_the_poison_experiment_fails_where_poison_is_swallowed(tmp_path: Path) -> None:
    with stack(tmp_path, "--failpoints", "silent_poison=1"):
        code, journal = _chaos_run(tmp_path, POISON, ("poison_within_s:float=3",))
    assert code == 1
    assert journal["deviated"] is True
    assert _outputs(journal, "poison-contained") == [False]
