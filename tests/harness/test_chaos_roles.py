"""The consumers-role experiment's probe can fail: an event that reaches the audit trail while
the consumers are down means something else consumed it (or they were never down)."""

from __future__ import annotations

import pytest

from harness.chaos import activities
from harness.chaos.session import ChaosSession, activate
from harness.chaos.writers import Writers
from harness.errors import HarnessError
from harness.targets.local import LocalTarget

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _session(target: LocalTarget) -> ChaosSession:
    deployment = target.up()
    return ChaosSession(target, deployment, Writers(deployment, ["w"]))


def test_events_wait_fails_where_the_events_were_consumed() -> None:
    target = LocalTarget(workers=1)  # role all: it consumes what it writes
    try:
        with activate(_session(target)):
            with pytest.raises(HarnessError, match="consumed while the consumers were down"):
                activities.events_wait(within_s=5.0)
    finally:
        target.down()


def test_events_wait_in_the_outbox_until_the_consumers_role_returns() -> None:
    target = LocalTarget(workers=1, split_roles=True)
    try:
        with activate(_session(target)) as session:
            activities.crash_service(role="consumers")
            assert activities.events_wait(within_s=2.0) is True
            activities.restart_service(role="consumers")
            assert session.events == ["crashed the consumers role", "restarted the consumers role"]
            assert activities._event_delivered(within_s=15.0)
    finally:
        target.down()
