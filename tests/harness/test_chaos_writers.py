"""The ledger writers against a real ``taskora serve``: half their creates carry an
Idempotency-Key and half do not, so SC-010 sees a write lost on either path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.chaos.check import DataLossCheck, check_writes
from harness.chaos.writers import Writers
from harness.targets import Deployment
from tests.process import running
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def _write_and_check(
    tmp_path: Path,
    writes: int,
    failpoints: str | None = None,
    until: Callable[[DataLossCheck], bool] = lambda check: check.clean,
) -> tuple[Writers, DataLossCheck]:
    """``writes`` ledger writes by two writers against a one-worker service; then the check,
    read again until ``until`` holds of it (the consumers and the reminder scan catch up at
    their pace, which a loaded machine slows)."""
    env = {"TASKORA_FAILPOINTS": failpoints} if failpoints else {}
    with running(
        f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "server.log", workers=1, env=env
    ) as server:
        writers = Writers(
            Deployment("local", server.base_url, server.token), ["ledger-a", "ledger-b"]
        )
        writers.start()
        try:
            wait_until(lambda: len(writers.ledger.operations) >= writes, 30, f"{writes} writes")
        finally:
            writers.stop()

        def settled() -> DataLossCheck | None:
            check = check_writes(writers, settle_s=0)  # one read and judgement
            return check if until(check) else None

        check = wait_until(settled, 60, "the check to come to what the test expects", every=0.5)
    return writers, check


def test_writers_send_creates_with_and_without_a_key(tmp_path: Path) -> None:
    writers, check = _write_and_check(tmp_path, 40)
    assert check.clean, check.summary()
    assert 0 < check.keyless < check.ledger.attempted
    # every kind of follow-up happened, and its effect was found (check.clean)
    assert writers.completed and writers.updated and writers.deleted and writers.reminded
    assert check.ledger.acknowledged + len(writers.deleted) + check.info == check.ledger.attempted


def test_a_write_lost_only_without_a_key_is_caught(tmp_path: Path) -> None:
    _writers, check = _write_and_check(tmp_path, 20, "lose_keyless=1", lambda c: c.lost > 0)
    assert check.lost > 0 and not check.clean
    keyless = {key for key in check.ledger.lost if int(key.rsplit("-", 1)[1]) % 2 == 1}
    assert keyless == set(check.ledger.lost), "only creates without a key were lost"


def test_a_delete_whose_event_is_lost_is_caught(tmp_path: Path) -> None:
    # the reminders and the other events arrive in time; the deletes' never do
    writers, check = _write_and_check(
        tmp_path,
        20,
        "lose_deletes=1",
        until=lambda c: bool(c.undelivered) and all("no task.deleted" in u for u in c.undelivered),
    )
    assert writers.deleted and check.lost == 0
    assert sorted(check.undelivered) == sorted(
        f"{key}: no task.deleted for task {task_id}" for key, task_id in writers.deleted.items()
    ), "every delete's event, and nothing else, is missing"
