"""A Jepsen-style write ledger: every operation is recorded as ``ok`` (acknowledged), ``fail``
(refused: it did not happen) or ``info`` (no answer: it may or may not have happened), and a
write whose deletion was acknowledged as ``deleted``.

Against the final read: ``lost`` = acknowledged writes missing; ``resurrected`` = writes whose
deletion was acknowledged still present; ``unexpected`` = present writes that were never
attempted; an ``info`` write may be present or not, but never twice.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Ledger", "LedgerCheck"]

Status = Literal["ok", "fail", "info", "deleted"]


@dataclass(frozen=True)
class LedgerCheck:
    attempted: int
    acknowledged: int
    lost: list[str]
    unexpected: list[str]
    duplicated: list[str]
    failed_but_present: list[str]
    resurrected: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.unexpected
            or self.duplicated
            or self.failed_but_present
            or self.resurrected
        )


@dataclass
class Ledger:
    operations: dict[str, Status] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, key: str, status: Status) -> None:
        """The latest word on an operation wins (a retried info may become ok)."""
        with self._lock:
            self.operations[key] = status

    def check(self, final_read: list[str]) -> LedgerCheck:
        with self._lock:
            operations = dict(self.operations)
        present = Counter(final_read)
        return LedgerCheck(
            attempted=len(operations),
            acknowledged=sum(1 for s in operations.values() if s == "ok"),
            lost=sorted(k for k, s in operations.items() if s == "ok" and k not in present),
            unexpected=sorted(k for k in present if k not in operations),
            duplicated=sorted(k for k, n in present.items() if n > 1),
            failed_but_present=sorted(
                k for k, s in operations.items() if s == "fail" and k in present
            ),
            resurrected=sorted(k for k, s in operations.items() if s == "deleted" and k in present),
        )
