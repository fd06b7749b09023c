"""SC-010's judgement of a chaos run: what the writers were told against what the service holds.

- lost: acknowledged creates missing from the final read (the ledger's ``lost``);
- undelivered: an acknowledged change whose event did not reach every consumer: a create,
  update, completion or delete without its entry in the audit trail, a completion of a
  recurring task without its next occurrence, a reminder due without its notification; and a
  task whose deletion was acknowledged still present (the ledger's ``resurrected``);
- duplicates: a write present twice, an event applied twice (two audit entries for one change),
  two next occurrences for one completion, or two notifications for one reminder.

Every expectation is matched per user and per the task id its own create was answered with.

Consumers are asynchronous, so the check waits for them to catch up: until nothing is missing,
or nothing more arrived for ``quiet_s``, or ``settle_s`` passed.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.chaos.writers import Writers
from harness.probes.ledger import LedgerCheck

__all__ = ["DataLossCheck", "check_writes"]

PAGE = 200


@dataclass(frozen=True)
class DataLossCheck:
    ledger: LedgerCheck
    info: int  # writes that never got an answer: allowed to exist, never twice
    undelivered: list[str] = field(default_factory=list)
    duplicate_effects: list[str] = field(default_factory=list)
    completions: int = 0
    keyless: int = 0  # creates sent without an Idempotency-Key (once: never retried)

    @property
    def lost(self) -> int:
        return len(self.ledger.lost)

    @property
    def duplicates(self) -> int:
        return len(self.ledger.duplicated) + len(self.duplicate_effects)

    @property
    def clean(self) -> bool:
        return self.ledger.clean and not self.undelivered and not self.duplicate_effects

    def summary(self) -> dict[str, Any]:
        return {
            "attempted": self.ledger.attempted,
            "acknowledged": self.ledger.acknowledged,
            "keyless": self.keyless,
            "info": self.info,
            "lost": self.lost,
            "undelivered": len(self.undelivered),
            "duplicates": self.duplicates,
            "unexpected": len(self.ledger.unexpected),
            "failed_but_present": len(self.ledger.failed_but_present),
            "completions": self.completions,
            "examples": (
                self.ledger.lost
                + self.undelivered
                + self.ledger.duplicated
                + self.duplicate_effects
            )[:10],
        }


def _pages(http: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
        response = http.get(path, params=query)
        response.raise_for_status()
        page = response.json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


Effects = Counter[tuple[str, str, int]]  # (user, audit type or "reminder", task id) -> count


def _read(writers: Writers) -> tuple[list[dict[str, Any]], Effects]:
    """Every writer's tasks, and its audit entries and reminder notifications per task."""
    tasks: list[dict[str, Any]] = []
    effects: Effects = Counter()
    for user in writers.users:
        base_url, headers = writers.deployment.base_url, writers.deployment.headers(user)
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            tasks += _pages(http, "/api/tasks", {"status": "all"})
            audit = _pages(http, "/api/audit", {"type": list(_AUDITED)})
            notes = _pages(http, "/api/notifications", {})
        effects.update(
            (user, e["type"], int(e["task_id"])) for e in audit if e.get("task_id") is not None
        )
        effects.update(
            (user, "reminder", int(n["task_id"]))
            for n in notes
            if n["kind"] == "reminder" and n.get("task_id") is not None
        )
    return tasks, effects


_AUDITED = ("task.created", "task.updated", "task.completed", "task.deleted")


def _expected(writers: Writers) -> list[tuple[str, str, int, str]]:
    """(user, effect, task id, the write's name) for every acknowledged change."""
    user_of = {key: key.rsplit("-", 1)[0] for key in writers.acked_ids}
    expected = [
        (user_of[key], "task.created", task_id, key)
        for key, task_id in sorted(writers.acked_ids.items())
    ]
    expected += [
        (user, "task.completed", task_id, f"task {task_id}")
        for task_id, user in sorted(writers.completed.items())
    ]
    expected += [
        (user, "task.updated", task_id, f"task {task_id}")
        for task_id, user in sorted(writers.updated.items())
    ]
    expected += [
        (user_of[key], "task.deleted", task_id, key)
        for key, task_id in sorted(writers.deleted.items())
    ]
    expected += [
        (user, "reminder", task_id, f"task {task_id}")
        for task_id, user in sorted(writers.reminded.items())
    ]
    return expected


def _judge(writers: Writers, tasks: list[dict[str, Any]], effects: Effects) -> DataLossCheck:
    originals = [t for t in tasks if t["series_id"] is None or t["series_id"] == t["id"]]
    ledger = writers.ledger.check([t["title"] for t in originals])
    undelivered = [f"{key}: deleted (204), still present" for key in ledger.resurrected]
    duplicates = []
    for user, effect, task_id, name in _expected(writers):
        count = effects[(user, effect, task_id)]
        if count == 0:
            undelivered.append(f"{name}: no {effect} for task {task_id}")
        elif count > 1:
            duplicates.append(f"{name}: {effect} applied {count} times")
    following = Counter(t["series_id"] for t in tasks if t["series_id"] not in (None, t["id"]))
    for task_id in sorted(writers.completed):
        if following[task_id] == 0:
            undelivered.append(f"task {task_id}: completed, no next occurrence")
        elif following[task_id] > 1:
            duplicates.append(f"task {task_id}: {following[task_id]} next occurrences")
    info = sum(1 for status in writers.ledger.operations.values() if status == "info")
    return DataLossCheck(
        ledger, info, undelivered, duplicates, len(writers.completed), writers.keyless
    )


def check_writes(
    writers: Writers, *, settle_s: float = 60.0, quiet_s: float = 10.0
) -> DataLossCheck:
    """Judge the writes once the consumers have caught up or stopped making progress."""
    deadline = time.monotonic() + settle_s
    missing, since = -1, time.monotonic()
    while True:
        result = _judge(writers, *_read(writers))
        now = time.monotonic()
        if len(result.undelivered) != missing:
            missing, since = len(result.undelivered), now
        if not missing or now >= deadline or now - since >= quiet_s:
            return result
        time.sleep(1.0)
