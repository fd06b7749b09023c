"""The load plan from a profile, and what it hands the Locust process."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.load import LoadPlan, locustfile
from harness.profile import load_profile


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


@pytest.mark.parametrize(
    "override", ["sc008.users=0", "sc008.hold_s=0", "sc008.wait_min_s=5", "sc008.seed_per_user=-1"]
)
def test_impossible_plans_are_refused(override: str) -> None:
    with pytest.raises(UsageError, match="sc008"):
        LoadPlan.from_profile(load_profile("quick", [override, "sc008.wait_max_s=4"]))
