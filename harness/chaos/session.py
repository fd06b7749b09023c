"""The chaos session an experiment's activities act on, found through the experiment's
``configuration`` (Chaos Toolkit passes it to every activity that takes it).

- Run by the harness (``python -m harness chaos``, ``validate``): the harness registers the
  session it built around its target and names it in the configuration (``taskora_session``).
- Run by the Chaos Toolkit CLI (``chaos run chaos/<name>.json``): the configuration names a
  running deployment (``taskora_target``); ``harness.chaos.attach.session_for`` attaches to it
  at the first activity, and the later activities of that run share the session (the ledger
  writers started by one are stopped and judged by another).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from harness.chaos.check import DataLossCheck, check_writes
from harness.chaos.poison import Poison
from harness.chaos.writers import Writers
from harness.errors import HarnessError
from harness.targets import Deployment, Target

__all__ = ["SESSION_KEY", "ChaosSession", "lookup", "registered"]

SESSION_KEY = "taskora_session"


@dataclass
class ChaosSession:
    target: Target
    deployment: Deployment
    writers: Writers
    kills: int = 0  # replicas or whole services killed
    events: list[str] = field(default_factory=list)  # what the activities did, in order
    check: DataLossCheck | None = None  # judged once, after the writers stopped
    poison: Poison | None = None  # what plant_poison did, judged by poison_contained

    def judged(self) -> DataLossCheck:
        """The writes checked against what the service holds (once: the check waits for the
        consumers to catch up)."""
        self.writers.stop()
        if self.check is None:
            self.check = check_writes(self.writers)
        return self.check


_SESSIONS: dict[str, ChaosSession] = {}
_LOCK = threading.Lock()


@contextmanager
def registered(session: ChaosSession) -> Iterator[dict[str, str]]:
    """Make ``session`` findable; yields the configuration entry that names it."""
    key = uuid.uuid4().hex
    with _LOCK:
        _SESSIONS[key] = session
    try:
        yield {SESSION_KEY: key}
    finally:
        with _LOCK:
            _SESSIONS.pop(key, None)


def lookup(key: str, make: Callable[[], ChaosSession] | None = None) -> ChaosSession:
    """The session registered under ``key``; with ``make``, the one made (once) for it."""
    with _LOCK:
        if key not in _SESSIONS:
            if make is None:
                raise HarnessError(f"chaos session {key} is over (its harness run ended)")
            _SESSIONS[key] = make()
        return _SESSIONS[key]
