"""Errors of the harness.

Hierarchy::

    HarnessError                 the harness could not do its job (exit code 2)
    ├── UsageError               bad arguments or profile values; the message names the fix
    └── TargetUnavailable        the target cannot be brought up or reached here
"""

from __future__ import annotations

__all__ = ["HarnessError", "TargetUnavailable", "UsageError"]


class HarnessError(Exception):
    """Root of the harness's own errors: the run could not be judged."""


class UsageError(HarnessError):
    """Bad arguments or profile values."""


class TargetUnavailable(HarnessError):
    """The target cannot be used from this machine (missing tool, unreachable URL, ...)."""
