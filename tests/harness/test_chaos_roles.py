"""The consumers-role experiment's probe can fail: an event that reaches the audit trail while
the consumers are down means something else consumed it (or they were never down)."""

from __future__ import annotations

import pytest

from harness.chaos import activities
from harness.chaos.session import ChaosSession, registered
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
        with registered(_session(target)) as configuration:
            with pytest.raises(HarnessError, match="consumed while the consumers were down"):
                activities.events_wait(within_s=5.0, configuration=configuration)
    finally:
        target.down()


def test_events_wait_in_the_outbox_until_the_consumers_role_returns() -> None:
    target = LocalTarget(workers=1, split_roles=True)
    try:
        session = _session(target)
        with registered(session) as configuration:
            activities.crash_service(role="consumers", configuration=configuration)
            assert activities.events_wait(within_s=2.0, configuration=configuration) is True
            activities.restart_service(role="consumers", configuration=configuration)
            assert session.events == ["crashed the consumers role", "restarted the consumers role"]
            assert activities._event_delivered(session.deployment, within_s=15.0)
    finally:
        target.down()
