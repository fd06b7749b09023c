"""The experiments in chaos/ are valid Chaos Toolkit experiments whose activities exist, and
each declares the steady state it must keep (ready, error ratio, P95)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.chaos import activities
from harness.chaos.runner import EXPERIMENTS, NEEDS, experiment_path
from harness.chaos.session import SESSION_KEY
from harness.errors import HarnessError, TargetUnavailable, UsageError

chaoslib = pytest.importorskip("chaoslib", reason="Chaos Toolkit is not installed (extra: chaos)")


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_is_valid_and_calls_only_real_activities(name: str) -> None:
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    experiment = load_experiment(str(experiment_path(name)))
    ensure_experiment_is_valid(experiment)
    steps = [
        *experiment["steady-state-hypothesis"]["probes"],
        *experiment["method"],
        *experiment["rollbacks"],
    ]
    for step in steps:
        provider = step["provider"]
        assert provider["module"] == "harness.chaos.activities"
        assert callable(getattr(activities, provider["func"]))
    probes = {p["name"] for p in experiment["steady-state-hypothesis"]["probes"]}
    assert probes - {"poison-contained"} == {
        "service-is-ready",
        "api-error-ratio",
        "api-p95-ms",
        "acknowledged-writes-intact",
    }
    assert experiment["rollbacks"], "every experiment puts the service back"
    for key in ("taskora_target", "taskora_namespace", "taskora_context", "taskora_overlay"):
        assert experiment["configuration"][key]["type"] == "env"  # chaos run reads them there


def test_every_experiment_file_is_known() -> None:
    assert set(NEEDS) == set(EXPERIMENTS)
    files = {p.stem for p in experiment_path(EXPERIMENTS[0]).parent.glob("*.json")}
    assert files == set(EXPERIMENTS)
    json.loads(experiment_path("broker-outage").read_text())


def test_activities_outside_a_session_say_how_to_run_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stack started by harness up here
    with pytest.raises(TargetUnavailable, match="start one with python -m harness up"):
        activities.service_ready({"taskora_target": "local"})
    with pytest.raises(UsageError, match="use local .* or one of kind, minikube, doks"):
        activities.service_ready({"taskora_target": "nowhere"})
    with pytest.raises(UsageError, match="--overlay 'nope': for --target kind use one of kind, "):
        activities.service_ready({"taskora_target": "kind", "taskora_overlay": "nope"})
    with pytest.raises(HarnessError, match="is over"):
        activities.service_ready({SESSION_KEY: "0" * 32})
    with pytest.raises(UsageError, match="no experiment"):
        experiment_path("nope")


def test_a_state_file_of_an_older_harness_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".harness").mkdir()
    (tmp_path / ".harness" / "up.json").write_text('{"pgids": [1], "url": "http://x"}')
    with pytest.raises(TargetUnavailable, match="harness down, then python -m harness up"):
        activities.start_writers({"taskora_target": "local"})
