"""The ledger writers against a real ``taskora serve``: half their creates carry an
Idempotency-Key and half do not, so SC-010 sees a write lost on either path."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chaos.check import check_writes
from harness.chaos.writers import Writers
from harness.targets import Deployment
from tests.process import Server, running
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def _write(server: Server, writes: int) -> Writers:
    deployment = Deployment("local", server.base_url, server.token)
    writers = Writers(deployment, ["ledger-a", "ledger-b"])
    writers.start()
    try:
        wait_until(lambda: len(writers.ledger.operations) >= writes, 30, f"{writes} writes")
    finally:
        writers.stop()
    return writers


def test_writers_send_creates_with_and_without_a_key(tmp_path: Path) -> None:
    with running(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "server.log",
                 workers=1) as server:  # fmt: skip
        writers = _write(server, 40)
        check = check_writes(writers, settle_s=30, quiet_s=5)
    assert check.clean, check.summary()
    assert 0 < check.keyless < check.ledger.attempted
    # every kind of follow-up happened, and its effect was found (check.clean)
    assert writers.completed and writers.updated and writers.deleted and writers.reminded
    assert check.ledger.acknowledged + len(writers.deleted) + check.info == check.ledger.attempted


def test_a_write_lost_only_without_a_key_is_caught(tmp_path: Path) -> None:
    env = {"TASKORA_FAILPOINTS": "lose_keyless=1"}
    with running(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "server.log",
                 workers=1, env=env) as server:  # fmt: skip
        writers = _write(server, 20)
        check = check_writes(writers, settle_s=30, quiet_s=1)  # what is lost never comes
    assert check.lost > 0 and not check.clean
    keyless = {key for key in check.ledger.lost if int(key.rsplit("-", 1)[1]) % 2 == 1}
    assert keyless == set(check.ledger.lost), "only creates without a key were lost"


def test_a_delete_whose_event_is_lost_is_caught(tmp_path: Path) -> None:
    env = {"TASKORA_FAILPOINTS": "lose_deletes=1"}
    with running(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "server.log",
                 workers=1, env=env) as server:  # fmt: skip
        writers = _write(server, 20)
        check = check_writes(writers, settle_s=30, quiet_s=1)  # what is lost never comes
    assert writers.deleted and check.lost == 0
    assert sorted(check.undelivered) == sorted(
        f"{key}: no task.deleted for task {task_id}" for key, task_id in writers.deleted.items()
    ), "every delete's event, and nothing else, is missing"
