"""The compose target. There is no Docker engine on the machines these tests were written on, so
the stack itself never runs here: the target is driven through a recording stand-in for its
docker runner (it records each command and answers like the CLI would), and the command line is
checked to fail with one line when the engine is missing."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import jwt
import pytest

from harness.errors import TargetUnavailable
from harness.options import Options
from harness.profile import load_profile
from harness.run import build_target
from harness.targets import compose
from harness.targets.commands import CommandFailed, describe
from harness.targets.compose import COMPOSE_DIR, ComposeTarget

ROOT = Path(__file__).resolve().parents[2]
IDS = {"api": ["a1", "a2"], "consumers": ["c1"], "scheduler": ["s1"]}


class RecordingRunner:
    """Stand-in for the docker CLI: records every command (with the env file's contents at the
    time) and answers ``ps -q`` with fixed container ids; ``fail`` makes one command fail."""

    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.env_seen: dict[str, str] = {}
        self.fail = fail

    def __call__(self, argv: Sequence[str]) -> str:
        argv = list(argv)
        self.calls.append(argv)
        if "--env-file" in argv:
            path = Path(argv[argv.index("--env-file") + 1])
            lines = path.read_text().splitlines()
            self.env_seen = dict(line.split("=", 1) for line in lines)
        if self.fail and describe(argv) == self.fail:
            raise CommandFailed(self.fail, "it broke")  # as run_command does
        if "ps" in argv:
            return "\n".join(IDS[argv[-1]]) + "\n"
        return ""

    def actions(self) -> list[str]:
        return [describe(argv) for argv in self.calls]


@pytest.fixture(autouse=True)
def _docker_cli_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose.shutil, "which", lambda name: f"/usr/bin/{name}")


def _target(runner: RecordingRunner, bus: str = "redis") -> ComposeTarget:
    return ComposeTarget(bus=bus, runner=runner)


def _files(argv: list[str]) -> list[str]:
    return [Path(argv[i + 1]).name for i, arg in enumerate(argv) if arg == "-f"]


def test_validate_without_a_docker_engine_exits_2_with_one_line() -> None:
    engine = subprocess.run(["docker", "info"], capture_output=True, check=False)
    if engine.returncode == 0:
        pytest.skip("a Docker engine answers here: the compose target would really start")
    done = subprocess.run(
        [sys.executable, "-m", "harness", "validate", "--target", "compose"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--target compose needs" in done.stderr
    assert "Traceback" not in done.stderr


def test_up_builds_then_starts_the_stack_with_a_secret_env_file() -> None:
    runner = RecordingRunner()
    target = _target(runner)
    deployment = target.up()
    try:
        assert runner.actions() == [
            "docker info",
            "docker compose version",
            "docker compose build",
            "docker compose up",
            "docker compose ps",
        ]
        up = runner.calls[3]
        assert up[up.index("up") :][:3] == ["up", "-d", "--wait"]
        assert _files(up) == ["compose.yaml"]
        assert up[up.index("-p") + 1] == target.project
        secret = runner.env_seen["TASKORA_JWT_SECRET"]
        assert len(secret) >= 32 and runner.env_seen["POSTGRES_PASSWORD"]
        claims = jwt.decode(deployment.token("alice"), secret, algorithms=["HS256"])
        assert claims["sub"] == "alice"
        assert deployment.base_url == f"http://127.0.0.1:{runner.env_seen['TASKORA_API_PORT']}"
        assert deployment.replicas == IDS["api"]
        assert deployment.ready_seconds is not None
        assert target.env_file is not None and target.env_file.stat().st_mode & 0o077 == 0
    finally:
        target.down()


def test_the_env_file_sets_every_variable_the_compose_files_require() -> None:
    runner = RecordingRunner()
    target = _target(runner, bus="dapr")
    target.up()
    target.down()
    text = "".join(path.read_text() for path in target.compose_files())
    required = set(re.findall(r"\$\{(\w+):\?", text)) | set(re.findall(r"\$\{(\w+):-", text))
    assert required == {
        "TASKORA_JWT_SECRET",
        "POSTGRES_PASSWORD",
        "TASKORA_API_PORT",
        "TASKORA_IMAGE",
        "APP_API_TOKEN",
    }
    assert required <= set(runner.env_seen)


def test_the_dapr_bus_adds_the_overlay_and_its_broker_is_redpanda() -> None:
    runner = RecordingRunner()
    target = _target(runner, bus="dapr")
    target.up()
    target.stop_broker()
    target.start_broker()
    target.down()
    assert _files(runner.calls[3]) == ["compose.yaml", "compose.dapr.yaml"]
    assert all((COMPOSE_DIR / name).is_file() for name in _files(runner.calls[3]))
    assert [c[-1] for c in runner.calls if describe(c).split()[-1] in ("stop", "start")] == [
        "redpanda",
        "redpanda",
    ]


def test_the_redis_bus_stops_and_starts_redis() -> None:
    runner = RecordingRunner()
    target = _target(runner)
    target.up()
    target.stop_broker()
    target.start_broker()
    target.down()
    assert runner.calls[-3][-2:] == ["stop", "redis"]
    assert runner.calls[-2][-2:] == ["start", "redis"]


def test_kill_takes_only_a_container_of_a_role_and_starts_it_again() -> None:
    runner = RecordingRunner()
    target = _target(runner, bus="dapr")
    target.up()
    try:
        assert target.replicas("consumers") == ["c1"]
        with pytest.raises(ValueError, match="no role"):
            target.replicas("redis")
        before = len(runner.calls)
        with pytest.raises(ValueError, match="no replica 'postgres-1'"):
            target.kill("postgres-1")
        assert not any(c[1] in ("kill", "start") for c in runner.calls[before:])
        target.kill("c1")
        killing = [c for c in runner.calls[before:] if c[1] != "compose"]
        assert killing == [["docker", "kill", "c1"], ["docker", "start", "c1"]]
        assert runner.calls[-1][-2:] == ["restart", "daprd-consumers"]  # rejoins the new netns
    finally:
        target.down()


def test_crash_kills_every_role_container_and_restart_waits_for_the_stack() -> None:
    runner = RecordingRunner()
    target = _target(runner)
    target.up()
    try:
        target.crash()
        assert runner.calls[-1] == ["docker", "kill", "a1", "a2", "c1", "s1"]
        target.restart()
        assert describe(runner.calls[-1]) == "docker compose up"
        assert "--wait" in runner.calls[-1]
    finally:
        target.down()


def test_down_removes_the_containers_the_volumes_and_the_env_file() -> None:
    runner = RecordingRunner()
    target = _target(runner)
    target.up()
    env_file = target.env_file
    assert env_file is not None and env_file.exists()
    target.down()
    assert runner.calls[-1][-3:] == ["down", "-v", "--remove-orphans"]
    assert not env_file.parent.exists()
    calls = len(runner.calls)
    target.down()  # nothing left: no second docker command
    assert len(runner.calls) == calls


def test_a_failing_up_is_one_line_and_cleans_up() -> None:
    runner = RecordingRunner(fail="docker compose up")
    target = _target(runner)
    with pytest.raises(TargetUnavailable, match="^`docker compose up` failed: it broke$"):
        target.up()
    assert runner.calls[-1][-3:] == ["down", "-v", "--remove-orphans"]
    assert target.env_file is None


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        ("docker info", r"needs a running Docker engine \(docker info failed: it broke\)$"),
        ("docker compose version", r"needs the Docker Compose plugin .* failed: it broke\)$"),
    ],
)
def test_preflight_names_what_is_missing(fail: str, message: str) -> None:
    with pytest.raises(TargetUnavailable, match=message):
        _target(RecordingRunner(fail=fail)).preflight()


@pytest.mark.parametrize(("bus", "broker"), [("dapr", "redpanda"), ("inline", "redis")])
def test_a_validation_run_builds_the_compose_target_from_the_bus_flag(
    bus: str, broker: str
) -> None:
    target = build_target(Options(target="compose", bus=bus), load_profile("quick", []))
    assert isinstance(target, ComposeTarget) and target.broker_service == broker
