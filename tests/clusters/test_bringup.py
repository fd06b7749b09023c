"""Cluster bring-up: the scripts under clusters/ parse (and pass shellcheck), the kind config is a
kind v1alpha4 Cluster named taskora, and `nox -s cluster-up|cluster-down` name a missing tool."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "clusters").rglob("*.sh"))
KIND_CONFIG = ROOT / "clusters" / "kind" / "kind-config.yaml"
HAS_NOX = importlib.util.find_spec("nox") is not None

# The fields of kind's v1alpha4 Cluster and Node (sigs.k8s.io/kind/pkg/apis/config/v1alpha4).
KIND_CLUSTER_FIELDS = {
    "kind",
    "apiVersion",
    "name",
    "nodes",
    "networking",
    "featureGates",
    "runtimeConfig",
    "kubeadmConfigPatches",
    "kubeadmConfigPatchesJSON6902",
    "containerdConfigPatches",
    "containerdConfigPatchesJSON6902",
}
KIND_NODE_FIELDS = {
    "role",
    "image",
    "labels",
    "extraMounts",
    "extraPortMappings",
    "kubeadmConfigPatches",
    "kubeadmConfigPatchesJSON6902",
}
KIND_PORT_FIELDS = {"containerPort", "hostPort", "listenAddress", "protocol"}


class _Aborted(Exception):
    pass


class _RecordingSession:
    """Stands in for nox.Session: the posargs, and session.error raising what it was told."""

    def __init__(self, *posargs: str) -> None:
        self.posargs = list(posargs)

    def error(self, message: str) -> None:
        raise _Aborted(message)


def _stand_in_nox() -> types.ModuleType:
    """Just enough of nox's surface to import noxfile.py where nox is not installed."""
    module = types.ModuleType("nox")

    def session(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        return lambda function: function

    module.session = session  # type: ignore[attr-defined]
    module.Session = _RecordingSession  # type: ignore[attr-defined]
    module.options = types.SimpleNamespace()  # type: ignore[attr-defined]
    return module


@pytest.fixture(scope="module")
def noxfile() -> Iterator[types.ModuleType]:
    """noxfile.py imported once (nox warns when its sessions are registered twice)."""
    with pytest.MonkeyPatch.context() as patch:
        if not HAS_NOX:
            patch.setitem(sys.modules, "nox", _stand_in_nox())
        spec = importlib.util.spec_from_file_location("taskora_noxfile", ROOT / "noxfile.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        patch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
        spec.loader.exec_module(module)
        yield module


def _path_with(tmp_path: Path, *tools: str) -> str:
    """A PATH holding only executables with the given names (that do nothing)."""
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    for tool in tools:
        exe = directory / tool
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    return str(directory)


def test_there_are_scripts_for_minikube_and_doks() -> None:
    names = {str(p.relative_to(ROOT)) for p in SCRIPTS}
    assert {
        "clusters/minikube/start.sh",
        "clusters/doks/create.sh",
        "clusters/doks/teardown.sh",
    } <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_parses(script: Path) -> None:
    result = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_passes_shellcheck(script: Path) -> None:
    result = subprocess.run(
        ["shellcheck", "--external-sources", "--shell=bash", str(script.relative_to(ROOT))],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", ["clusters/doks/create.sh", "clusters/doks/teardown.sh"])
def test_doks_scripts_print_usage_and_refuse_bad_arguments(script: str) -> None:
    helped = subprocess.run(["bash", script, "--help"], capture_output=True, text=True, cwd=ROOT)
    assert helped.returncode == 0 and helped.stdout.startswith(f"Usage: {script}")
    wrong = subprocess.run(["bash", script, "--bogus"], capture_output=True, text=True, cwd=ROOT)
    assert wrong.returncode == 2 and "Usage:" in wrong.stderr


def test_doks_teardown_does_nothing_without_yes(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{_path_with(tmp_path, 'doctl')}:/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", "clusters/doks/teardown.sh", "--registry"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert result.returncode == 2 and "--yes" in result.stderr


def test_doks_create_names_a_missing_tool(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{_path_with(tmp_path, 'doctl', 'kubectl')}:/usr/bin:/bin"}
    if shutil.which("dapr", path=env["PATH"]):
        pytest.skip("dapr is installed in /usr/bin or /bin")
    result = subprocess.run(
        ["bash", "clusters/doks/create.sh"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: dapr not found on PATH: install it and retry"


def test_kind_config_is_a_v1alpha4_cluster_named_taskora() -> None:
    config = yaml.safe_load(KIND_CONFIG.read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["name"] == "taskora"
    assert set(config) <= KIND_CLUSTER_FIELDS
    nodes = config["nodes"]
    assert all(set(node) <= KIND_NODE_FIELDS for node in nodes)
    assert {node["role"] for node in nodes} <= {"control-plane", "worker"}
    (control_plane,) = [node for node in nodes if node["role"] == "control-plane"]
    assert control_plane["labels"] == {"ingress-ready": "true"}
    ports = control_plane["extraPortMappings"]
    assert all(set(port) <= KIND_PORT_FIELDS for port in ports)
    assert {(p["containerPort"], p["hostPort"]) for p in ports} == {(80, 80), (443, 443)}


@pytest.mark.parametrize("action", ["up", "down"])
def test_cluster_sessions_name_the_missing_tool(
    noxfile: types.ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, action: str
) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path, "kubectl", "dapr"))
    with pytest.raises(_Aborted) as aborted:
        noxfile.cluster_commands(_RecordingSession("kind"), action)
    message = str(aborted.value)
    assert "\n" not in message and message.startswith("kind not found on PATH")
    monkeypatch.setenv("PATH", _path_with(tmp_path, "kind", "minikube"))
    with pytest.raises(_Aborted, match="^kubectl not found on PATH"):
        noxfile.cluster_commands(_RecordingSession("kind"), "up")


@pytest.mark.parametrize("posargs", [(), ("k3d",), ("kind", "minikube")])
def test_cluster_sessions_refuse_other_arguments(
    noxfile: types.ModuleType, posargs: tuple[str, ...]
) -> None:
    with pytest.raises(_Aborted, match=r"^usage: nox -s cluster-up -- kind\|minikube$"):
        noxfile.cluster_commands(_RecordingSession(*posargs), "up")


def test_cluster_up_creates_from_the_repository_config_then_installs_dapr(
    noxfile: types.ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path, "kind", "minikube", "kubectl", "dapr", "bash"))
    kind_up = noxfile.cluster_commands(_RecordingSession("kind"), "up")
    config = kind_up[0][kind_up[0].index("--config") + 1]
    assert kind_up[0][:3] == ("kind", "create", "cluster") and (ROOT / config) == KIND_CONFIG
    assert any("ingress-nginx" in " ".join(command) for command in kind_up)
    assert kind_up[-1][:3] == ("dapr", "init", "-k")
    minikube_up = noxfile.cluster_commands(_RecordingSession("minikube"), "up")
    assert minikube_up[0] == ("bash", "clusters/minikube/start.sh")
    assert (ROOT / minikube_up[0][1]).is_file() and minikube_up[-1][:3] == ("dapr", "init", "-k")
    assert noxfile.cluster_commands(_RecordingSession("kind"), "down") == [
        ("kind", "delete", "cluster", "--name", "taskora")
    ]
    assert noxfile.cluster_commands(_RecordingSession("minikube"), "down") == [
        ("minikube", "delete", "--profile", "taskora")
    ]


@pytest.mark.skipif(not HAS_NOX, reason="nox not installed in this environment")
def test_nox_cluster_up_without_kind_fails_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nox",
            "-f",
            str(ROOT / "noxfile.py"),
            "-s",
            "cluster-up",
            "--",
            "kind",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
        env={**os.environ, "PATH": str(tmp_path)},
    )
    assert result.returncode == 1
    (aborted,) = [line for line in result.stderr.splitlines() if "aborted" in line]
    assert "kind not found on PATH" in aborted
