"""Taskora's validation harness: turns a deployment's success criteria into gating suites.

It talks to the service only over HTTP and starts it only as a process, so the same suites
validate a laptop, a kind cluster or DOKS. The command line is ``python -m harness``; scripts
use ``harness.api``.
"""

from __future__ import annotations

__all__: list[str] = []
