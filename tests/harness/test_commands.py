"""The targets' one command runner: stdout, or one line naming the command and what it said."""

from __future__ import annotations

import sys

import pytest

from harness.errors import TargetUnavailable
from harness.targets.commands import CommandFailed, describe, run_command


def test_a_failure_is_one_line_with_the_exit_code_and_the_last_stderr_line() -> None:
    script = "import sys; sys.stderr.write('detail\\nerror: boom\\n'); sys.exit(3)"
    with pytest.raises(CommandFailed) as caught:
        run_command([sys.executable, "-c", script])
    assert str(caught.value).endswith("failed: (exit 3) error: boom")
    assert caught.value.reason == "(exit 3) error: boom"
    assert "\n" not in str(caught.value)


def test_a_missing_tool_and_a_slow_one_are_one_line() -> None:
    with pytest.raises(TargetUnavailable, match="`taskora-no-such-tool` is not on PATH"):
        run_command(["taskora-no-such-tool"])
    with pytest.raises(TargetUnavailable, match="did not finish within 1 s"):
        run_command([sys.executable, "-c", "import time; time.sleep(5)"], timeout=1)


def test_stdout_and_stdin() -> None:
    assert run_command([sys.executable, "-c", "print('out')"]) == "out\n"
    echo = "import sys; print(sys.stdin.read().upper())"
    assert run_command([sys.executable, "-c", echo], stdin="yaml") == "YAML\n"


def test_describe_names_the_command_without_option_values() -> None:
    argv = ["docker", "compose", "-p", "x", "--env-file", "e", "-f", "a.yaml", "up", "-d"]
    assert describe(argv) == "docker compose up"
    assert describe(["docker", "info", "--format", "{{.ServerVersion}}"]) == "docker info"
    kubectl = ["kubectl", "--context", "kind-taskora", "-n", "taskora", "apply", "-f", "-"]
    assert describe(kubectl) == "kubectl apply"
