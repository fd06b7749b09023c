"""The chaos session the experiments' activities act on.

Chaos Toolkit runs an experiment's Python activities in this process (``chaoslib``'s python
provider imports ``harness.chaos.activities`` and calls its functions), so the activities reach
the target, its deployment and the ledger writers through the one session made ``active`` for
the experiment's duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from harness.chaos.writers import Writers
from harness.errors import HarnessError
from harness.targets import Deployment, Target

__all__ = ["ChaosSession", "activate", "current"]


@dataclass
class ChaosSession:
    target: Target
    deployment: Deployment
    writers: Writers
    kills: int = 0  # replicas or whole services killed
    events: list[str] = field(default_factory=list)  # what the activities did, in order


_ACTIVE: ChaosSession | None = None


@contextmanager
def activate(session: ChaosSession) -> Iterator[ChaosSession]:
    global _ACTIVE
    if _ACTIVE is not None:
        raise HarnessError("a chaos experiment is already running in this process")
    _ACTIVE = session
    try:
        yield session
    finally:
        _ACTIVE = None


def current() -> ChaosSession:
    if _ACTIVE is None:
        raise HarnessError("no chaos session: run experiments through python -m harness chaos")
    return _ACTIVE
