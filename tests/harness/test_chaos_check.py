"""SC-010's judgement: each kind of loss the check exists for is caught, a clean run is clean."""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.chaos.check import _judge
from harness.chaos.writers import Writers
from harness.targets import Deployment


def _writers() -> Writers:
    writers = Writers(Deployment("local", "http://127.0.0.1:1", lambda user: user), ["w"])
    for key, task_id in (("w-0", 1), ("w-1", 2), ("w-2", 3)):
        writers.ledger.record(key, "ok")
        writers.acked_ids[key] = task_id
    writers.ledger.record("w-3", "info")  # never answered: may or may not exist
    writers.completed[1] = "w"  # w-0 is recurring and was completed
    return writers


def _task(task_id: int, title: str, series_id: int | None = None) -> dict[str, Any]:
    return {"id": task_id, "title": title, "series_id": series_id}


CLEAN = [_task(1, "w-0", 1), _task(2, "w-1"), _task(3, "w-2"), _task(4, "w-0", 1)]
AUDITED = Counter({1: 1, 2: 1, 3: 1, 4: 1})


def test_a_clean_run_is_clean() -> None:
    result = _judge(_writers(), CLEAN, AUDITED)
    assert result.clean and result.lost == 0 and result.duplicates == 0
    assert result.info == 1 and result.ledger.acknowledged == 3 and result.completions == 1


def test_a_lost_write_is_caught() -> None:
    result = _judge(_writers(), [t for t in CLEAN if t["id"] != 3], AUDITED)
    assert not result.clean and result.ledger.lost == ["w-2"]


def test_an_event_that_reached_no_consumer_is_caught() -> None:
    result = _judge(_writers(), CLEAN, AUDITED - Counter({2: 1}))
    assert not result.clean and result.undelivered == ["w-1: no task.created in the audit trail"]


def test_a_missing_next_occurrence_is_caught() -> None:
    result = _judge(_writers(), CLEAN[:3], AUDITED)
    assert result.undelivered == ["task 1: completed, no next occurrence"]


def test_duplicates_are_caught() -> None:
    twice = _judge(_writers(), [*CLEAN, _task(9, "w-1")], AUDITED)
    assert twice.ledger.duplicated == ["w-1"] and twice.duplicates == 1
    applied_twice = _judge(_writers(), CLEAN, AUDITED + Counter({3: 1}))
    assert applied_twice.duplicate_effects == ["task 3: task.created applied 2 times"]
    two_next = _judge(_writers(), [*CLEAN, _task(5, "w-0", 1)], AUDITED)
    assert two_next.duplicate_effects == ["task 1: 2 next occurrences"]


def test_an_unanswered_write_may_exist_once() -> None:
    assert _judge(_writers(), [*CLEAN, _task(6, "w-3")], AUDITED).clean
    assert not _judge(_writers(), [*CLEAN, _task(6, "w-3"), _task(7, "w-3")], AUDITED).clean
