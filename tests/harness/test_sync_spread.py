"""SC-002's tabs reach every worker: a slow worker among several cannot hide behind tabs that
all landed on its healthy siblings (a real ``taskora serve --workers 2`` with ``slow_worker``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.probes.sync import measure_sync, serves
from harness.targets import Deployment
from harness.targets.local import LocalTarget

SLOW_S = 2.0  # far above a healthy delivery on a loaded machine (~0.2 s seen)


@pytest.mark.parametrize(
    ("served_by", "replica", "expected"),
    [
        ("vm/4242", "4242", True),  # a local worker, by pid
        ("vm/4242", "42", False),
        ("taskora-api-7d9c-x2v/1", "taskora-api-7d9c-x2v", True),  # a pod, by hostname
        ("0123456789ab/1", "0123456789abcdef0123", True),  # a container, by Docker's short id
        ("0123/1", "0123456789abcdef0123", False),  # too short to stand for an id
        (None, "4242", False),  # a service that names no worker
        ("4242", "4242", False),  # not host/pid
    ],
)
def test_a_stream_is_matched_to_the_replica_that_served_it(served_by, replica, expected) -> None:
    assert serves(served_by, replica) is expected


@pytest.fixture
def slow_worker() -> Iterator[tuple[LocalTarget, Deployment]]:
    target = LocalTarget(workers=2, env={"TASKORA_FAILPOINTS": f"slow_worker={SLOW_S:g}"})
    deployment = target.up()
    try:
        yield target, deployment
    finally:
        target.down()


@pytest.mark.integration
@pytest.mark.slow
def test_the_tabs_reach_every_worker_and_find_the_slow_one(slow_worker) -> None:
    target, deployment = slow_worker
    workers = target.replicas()
    assert len(workers) == 2
    result = measure_sync(
        deployment, "spread", tabs=1, writes=3, wait_s=SLOW_S + 5, replicas=workers
    )
    assert result.uncovered == [] and result.covered == 2 and result.missed == 0
    slowest: dict[str, float] = {}
    for tab in result.per_tab():
        worker = str(tab["worker"]).rpartition("/")[2]
        slowest[worker] = max(slowest.get(worker, 0.0), float(tab["slowest_s"] or 0.0))
    assert sorted(slowest) == sorted(workers)
    held = [w for w, s in slowest.items() if s >= SLOW_S - 0.5]  # the write's answer comes later
    assert len(held) == 1, f"one worker holds its events, the other does not: {slowest}"


@pytest.mark.integration
@pytest.mark.slow
def test_a_replica_no_stream_reaches_is_reported(slow_worker) -> None:
    target, deployment = slow_worker
    result = measure_sync(
        deployment,
        "nowhere",
        tabs=2,
        writes=1,
        wait_s=SLOW_S + 5,
        replicas=[*target.replicas(), "999999"],
    )
    assert result.uncovered == ["999999"]
    assert result.tabs <= 2 + 1  # tabs that reached nothing new were closed at once
