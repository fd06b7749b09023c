"""The one way the targets run an external tool (docker, kubectl, kind, ...): its stdout, or a
one-line ``CommandFailed`` that names the command and the last line it wrote to stderr."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Protocol

from harness.errors import TargetUnavailable

__all__ = ["CommandFailed", "Runner", "describe", "last_line", "run_command"]

# Options whose value is the next argument: skipped when naming a command
VALUED_OPTIONS = frozenset(
    {
        "-p",
        "-f",
        "-n",
        "--env-file",
        "--format",
        "--wait-timeout",
        "--context",
        "--namespace",
        "--kube-context",
        "--field-manager",
        "--name",
        "--load-restrictor",
    }
)


class CommandFailed(TargetUnavailable):
    """A tool failed; ``reason`` is the last line it wrote."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"`{command}` failed: {reason}")
        self.reason = reason


class Runner(Protocol):
    def __call__(
        self, argv: Sequence[str], *, stdin: str | None = None, timeout: float = ...
    ) -> str:
        """Run ``argv`` to completion and return its stdout; raise TargetUnavailable if it fails."""
        ...


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def describe(argv: Sequence[str]) -> str:
    """The words that say what a command does: ``docker compose up``, ``kubectl apply``."""
    words: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg in VALUED_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            words.append(arg)
    return " ".join(words[:3])


def run_command(argv: Sequence[str], *, stdin: str | None = None, timeout: float = 900) -> str:
    """Run ``argv`` to completion; its stdout, or a one-line TargetUnavailable."""
    command = describe(argv)
    try:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise TargetUnavailable(f"`{argv[0]}` is not on PATH") from None
    except OSError as exc:
        raise TargetUnavailable(f"`{command}` could not run: {exc}") from None
    except subprocess.TimeoutExpired:
        raise TargetUnavailable(f"`{command}` did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        reason = last_line(done.stderr or done.stdout)
        raise CommandFailed(command, f"(exit {done.returncode}) {reason}")
    return done.stdout
