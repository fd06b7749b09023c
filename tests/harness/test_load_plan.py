"""The load plan from a profile, and what it hands the Locust process."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.load import PEAK_POLL_S, LoadPlan, _wait, locustfile
from harness.profile import load_profile
from tests.waiting import wait_until


def test_every_profile_holds_1000_users() -> None:
    for name in ("quick", "ci", "full"):
        plan = LoadPlan.from_profile(load_profile(name))
        assert plan.users == 1000 and plan.hold_s > 0
    full = LoadPlan.from_profile(load_profile("full"))
    assert (full.wait_min_s, full.wait_max_s) == (1.0, 3.0)


def test_the_plan_reaches_locust_through_its_environment(tmp_path: Path) -> None:
    plan = LoadPlan.from_profile(load_profile("quick", ["sc008.users=30", "sc008.hold_s=7"]))
    env = plan.environment(tmp_path / "users.json")
    assert env["TASKORA_LOAD_USERS"] == "30" and env["TASKORA_LOAD_HOLD_S"] == "7.0"
    assert env["TASKORA_LOAD_USERS_FILE"] == str(tmp_path / "users.json")
    assert plan.duration_s == plan.ramp_s + 7.0 + plan.ramp_down_s
    assert plan.locust_processes() >= 1
    assert locustfile().name == "taskora_load.py"


def test_the_peak_counts_as_held_to_within_one_history_row() -> None:
    plan = LoadPlan.from_profile(load_profile("quick", ["sc008.hold_s=6"]))
    assert plan.peak_held(6.0) and plan.peak_held(5.0)  # one row late: the 0.9 share is 5.4 s
    assert not plan.peak_held(4.0)
    long = LoadPlan.from_profile(load_profile("quick", ["sc008.hold_s=60"]))
    assert long.peak_held(53.0) and not long.peak_held(52.0)


@pytest.mark.parametrize(
    "override", ["sc008.users=0", "sc008.hold_s=0", "sc008.wait_min_s=5", "sc008.seed_per_user=-1"]
)
def test_impossible_plans_are_refused(override: str) -> None:
    with pytest.raises(UsageError, match="sc008"):
        LoadPlan.from_profile(load_profile("quick", [override, "sc008.wait_max_s=4"]))


# A stand-in Locust: one ``Aggregated`` history row per user count, then it waits for its stop
# file (the test's say-so) and exits.
_LOCUST = """
import sys, time
from pathlib import Path
history, stop = Path(sys.argv[1] + "_stats_history.csv"), Path(sys.argv[2])
rows = ["Timestamp,User Count,Type,Name,Requests/s,Total Request Count,Total Failure Count"]
for users in (0, 5, 10):
    rows.append(f"{time.time()},{users},,Aggregated,1.0,{users},0")
    history.write_text("\\n".join(rows) + "\\n")
    Path(f"{sys.argv[2]}.{users}").touch()
    while not Path(f"{sys.argv[2]}.go{users}").exists():
        time.sleep(0.02)
"""


def test_the_probe_under_load_starts_once_locust_reports_every_user(tmp_path: Path) -> None:
    plan = LoadPlan.from_profile(load_profile("quick", ["sc008.users=10", "sc008.ramp_s=0"]))
    stage = tmp_path / "stage"
    peak_started = threading.Event()
    peak = threading.Thread(target=peak_started.set, name="load-peak")
    with subprocess.Popen(
        [sys.executable, "-c", _LOCUST, str(tmp_path / "locust"), str(stage)]
    ) as locust:
        waiting = threading.Thread(
            target=_wait, args=(locust, plan, tmp_path / "locust", None, peak)
        )
        waiting.start()
        try:
            for users in (0, 5):
                wait_until(Path(f"{stage}.{users}").exists, 20, f"{users} users reported")
                time.sleep(2 * PEAK_POLL_S)  # two polls that must not start the probe
                assert not peak_started.is_set(), f"the probe started at {users} of 10 users"
                Path(f"{stage}.go{users}").touch()
            wait_until(peak_started.is_set, 20, "the probe started at 10 of 10 users")
        finally:
            for users in (0, 5, 10):
                Path(f"{stage}.go{users}").touch()
            waiting.join(20)
    peak.join(5)
    assert not waiting.is_alive() and locust.returncode == 0
