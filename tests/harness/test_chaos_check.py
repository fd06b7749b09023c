"""SC-010's judgement: each kind of loss the check exists for is caught, a clean run is clean."""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.chaos.check import Effects, _judge
from harness.chaos.writers import Writers
from harness.targets import Deployment


def _writers() -> Writers:
    """w-0 recurring and completed, w-1 updated, w-2 deleted, w-3 reminded, w-4 left as is."""
    writers = Writers(Deployment("local", "http://127.0.0.1:1", lambda user: user), ["w"])
    for n in range(5):
        writers.ledger.record(f"w-{n}", "ok")
        writers.acked_ids[f"w-{n}"] = n + 1
    writers.completed[1] = "w"
    writers.updated[2] = "w"
    writers.ledger.record("w-2", "deleted")
    writers.deleted["w-2"] = 3
    writers.reminded[4] = "w"
    writers.ledger.record("w-5", "info")  # never answered: may or may not exist
    return writers


def _task(task_id: int, title: str, series_id: int | None = None) -> dict[str, Any]:
    return {"id": task_id, "title": title, "series_id": series_id}


CLEAN = [
    _task(1, "w-0", 1),
    _task(2, "w-1"),
    _task(4, "w-3"),
    _task(5, "w-4"),
    _task(6, "w-0", 1),
]  # (6: the next occurrence of 1)
EFFECTS: Effects = Counter(
    [("w", "task.created", n) for n in range(1, 6)]
    + [
        ("w", "task.completed", 1),
        ("w", "task.updated", 2),
        ("w", "task.deleted", 3),
        ("w", "reminder", 4),
    ]
)


def test_a_clean_run_is_clean() -> None:
    result = _judge(_writers(), CLEAN, EFFECTS)
    assert result.clean and result.lost == 0 and result.duplicates == 0, result.summary()
    assert result.info == 1 and result.ledger.acknowledged == 4 and result.completions == 1


def test_a_lost_write_is_caught() -> None:
    result = _judge(_writers(), [t for t in CLEAN if t["id"] != 5], EFFECTS)
    assert not result.clean and result.ledger.lost == ["w-4"]


def test_a_deleted_task_that_is_still_there_is_caught() -> None:
    result = _judge(_writers(), [*CLEAN, _task(3, "w-2")], EFFECTS)
    assert not result.clean and result.undelivered == ["w-2: deleted (204), still present"]


def test_every_kind_of_event_that_reached_no_consumer_is_caught() -> None:
    for effect, task_id, name in (
        ("task.created", 2, "w-1"),
        ("task.completed", 1, "task 1"),
        ("task.updated", 2, "task 2"),
        ("task.deleted", 3, "w-2"),
        ("reminder", 4, "task 4"),
    ):
        result = _judge(_writers(), CLEAN, EFFECTS - Counter({("w", effect, task_id): 1}))
        assert not result.clean and result.undelivered == [
            f"{name}: no {effect} for task {task_id}"
        ]


def test_an_effect_seen_under_another_user_does_not_count() -> None:
    moved = (
        EFFECTS - Counter({("w", "task.updated", 2): 1}) + Counter({("x", "task.updated", 2): 1})
    )
    assert _judge(_writers(), CLEAN, moved).undelivered == ["task 2: no task.updated for task 2"]


def test_a_missing_next_occurrence_is_caught() -> None:
    result = _judge(_writers(), CLEAN[:4], EFFECTS)
    assert result.undelivered == ["task 1: completed, no next occurrence"]


def test_duplicates_are_caught() -> None:
    twice = _judge(_writers(), [*CLEAN, _task(9, "w-1")], EFFECTS)
    assert twice.ledger.duplicated == ["w-1"] and twice.duplicates == 1
    applied_twice = _judge(_writers(), CLEAN, EFFECTS + Counter({("w", "reminder", 4): 1}))
    assert applied_twice.duplicate_effects == ["task 4: reminder applied 2 times"]
    two_next = _judge(_writers(), [*CLEAN, _task(7, "w-0", 1)], EFFECTS)
    assert two_next.duplicate_effects == ["task 1: 2 next occurrences"]


def test_an_unanswered_write_may_exist_once() -> None:
    assert _judge(_writers(), [*CLEAN, _task(8, "w-5")], EFFECTS).clean
    assert not _judge(_writers(), [*CLEAN, _task(8, "w-5"), _task(9, "w-5")], EFFECTS).clean
