"""The GitHub workflows are valid, and every name they rely on (nox sessions, the Dockerfile, the
kind config, the Deployments they roll back) exists in the repository."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.targets.clusters import LOCAL_CLUSTERS

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = ("ci", "e2e-kind", "build", "deploy")
DEPLOYMENTS = ("taskora-api", "taskora-consumers", "taskora-scheduler")


def _load(name: str) -> dict[Any, Any]:
    workflow: dict[Any, Any] = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as true
    return workflow


def _steps(name: str) -> list[dict[str, Any]]:
    return [step for job in _load(name)["jobs"].values() for step in job["steps"]]


def _runs(name: str) -> str:
    return "\n".join(step.get("run", "") for step in _steps(name))


def _uses(name: str, action: str) -> list[dict[str, Any]]:
    return [s for s in _steps(name) if s.get("uses", "").split("@")[0] == action]


def _nox_sessions() -> set[str]:
    """Session names in noxfile.py: functions decorated with nox.session (name= if given)."""
    sessions = set()
    for node in ast.parse((ROOT / "noxfile.py").read_text()).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator.func if isinstance(decorator, ast.Call) else decorator
            if ast.unparse(call) != "nox.session":
                continue
            names = [k.value for k in getattr(decorator, "keywords", []) if k.arg == "name"]
            sessions.add(ast.literal_eval(names[0]) if names else node.name)
    return sessions


def test_there_are_the_four_workflows() -> None:
    assert sorted(p.stem for p in WORKFLOWS.glob("*.yml")) == sorted(NAMES)


def test_the_builtin_schema_works_offline_and_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  job:\n    runs-onn: ubuntu-latest\n    steps: []\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(broken),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1 and "runs-on" in result.stdout


def test_every_workflow_validates_against_the_github_workflow_schema() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            *(str(WORKFLOWS / f"{name}.yml") for name in NAMES),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", NAMES)
def test_minimal_permissions_concurrency_and_pinned_actions(name: str) -> None:
    workflow = _load(name)
    permissions = workflow["permissions"]
    assert permissions["contents"] == "read"
    assert set(permissions.values()) <= {"read", "write"}
    assert "write" not in permissions.values() or name == "build"
    assert workflow["concurrency"]["group"]
    for step in _steps(name):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


@pytest.mark.parametrize("name", ["ci", "e2e-kind", "deploy"])
def test_every_nox_session_a_workflow_runs_exists(name: str) -> None:
    used = set(re.findall(r"\bnox -s ([\w-]+)", _runs(name)))
    assert used, f"{name} runs no nox session"
    assert used <= _nox_sessions()


def test_the_session_parser_sees_every_session() -> None:
    assert {"tests", "lint", "validate", "cluster-up", "cluster-down"} <= _nox_sessions()


def test_ci_runs_lint_tests_and_validate_and_keeps_the_reports() -> None:
    workflow = _load("ci")
    (job,) = workflow["jobs"].values()
    assert {"postgres", "redis"} <= set(job["services"])
    assert job["env"]["CI"] == "true"
    runs = _runs("ci")
    for command in ("nox -s lint", "nox -s tests", "nox -s validate -- --report-dir"):
        assert command in runs
    (upload,) = _uses("ci", "actions/upload-artifact")
    assert upload["if"] == "always()" and upload["with"]["path"].startswith("reports")
    (python,) = _uses("ci", "actions/setup-python")
    assert python["with"]["python-version"] == "3.11"


def test_build_uses_the_repository_dockerfile() -> None:
    (build,) = _uses("build", "docker/build-push-action")
    dockerfile = ROOT / build["with"]["file"]
    if not dockerfile.exists():
        pytest.skip(f"{build['with']['file']} is not written yet")
    assert (ROOT / build["with"]["context"]).is_dir()
    (meta,) = _uses("build", "docker/metadata-action")
    tags = meta["with"]["tags"]
    assert "type=sha,format=long" in tags and "type=semver" in tags and "type=ref" in tags
    assert build["with"]["tags"] == "${{ steps.meta.outputs.tags }}" and meta["id"] == "meta"
    assert "type=gha" in build["with"]["cache-from"]


def test_deploy_gates_on_validate_and_rolls_back_every_deployment_on_failure() -> None:
    steps = _steps("deploy")
    apply = next(i for i, s in enumerate(steps) if s.get("id") == "apply")
    assert re.search(r'kustomize edit set image "?taskora=\$\{IMAGE\}', steps[apply]["run"])
    assert "clusters/k8s/overlays/doks" in steps[apply]["run"]
    assert (ROOT / "clusters" / "k8s" / "overlays" / "doks" / "kustomization.yaml").exists()
    gate = next(i for i, s in enumerate(steps) if "--target doks" in s.get("run", ""))
    assert "--image" in steps[gate]["run"] and "--url" in steps[gate]["run"]
    assert "if" not in steps[gate]
    (rollback,) = [s for s in steps if "rollout undo" in s.get("run", "")]
    assert steps.index(rollback) > gate > apply
    assert rollback["if"].startswith("failure()")
    assert "steps.apply." in rollback["if"]  # never undo a release this run did not apply
    for deployment in DEPLOYMENTS:
        assert deployment in rollback["run"]
    assert rollback["run"].rstrip().endswith("exit 1")
    assert _uses("deploy", "digitalocean/action-doctl")
    assert "doctl kubernetes cluster kubeconfig save" in _runs("deploy")


def test_e2e_kind_uses_the_repository_kind_config_named_taskora() -> None:
    runs = _runs("e2e-kind")
    config = ROOT / "clusters" / "kind" / "kind-config.yaml"
    if "nox -s cluster-up -- kind" in runs:  # the session creates the cluster from the config
        create = ("kind", "create", "cluster", "--config", "clusters/kind/kind-config.yaml")
        assert create in LOCAL_CLUSTERS["kind"].create
    else:
        assert "clusters/kind/kind-config.yaml" in (WORKFLOWS / "e2e-kind.yml").read_text()
    assert yaml.safe_load(config.read_text())["name"] == "taskora"
    assert "dapr" in runs and "nox -s validate -- --target kind" in runs
    assert any(s.get("if") == "always()" for s in _uses("e2e-kind", "actions/upload-artifact"))


def test_e2e_kind_validates_dapr_over_redis_and_over_kafka() -> None:
    """One job per pub/sub path, each deploying its overlay through the harness's --overlay
    (which must accept it for --target kind) and keeping its own report."""
    from harness.targets.clusters import CLUSTERS

    (job,) = _load("e2e-kind")["jobs"].values()
    matrix = job["strategy"]["matrix"]["include"]
    assert {e["pubsub"]: e["overlay"] for e in matrix} == {"redis": "kind", "kafka": "kind-kafka"}
    assert job["strategy"]["fail-fast"] is False  # one path failing still reports the other
    for entry in matrix:
        assert entry["overlay"] in CLUSTERS["kind"].overlays
        assert (ROOT / "clusters/k8s/overlays" / entry["overlay"] / "kustomization.yaml").is_file()
    runs = _runs("e2e-kind")
    assert "nox -s validate -- --target kind --overlay ${{ matrix.overlay }}" in runs
    (upload,) = _uses("e2e-kind", "actions/upload-artifact")
    assert upload["with"]["name"].endswith("${{ matrix.pubsub }}")
