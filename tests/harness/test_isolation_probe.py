"""SEC-001's probe against a real ``taskora serve``: clean when the service isolates its users,
and it names the route when one serves another user's task."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.probes.isolation import probe_isolation
from harness.targets import Deployment
from tests.process import Server, running

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _probe(server: Server):  # type: ignore[no-untyped-def]
    deployment = Deployment(target="url", base_url=server.base_url, token=server.token)
    return probe_isolation(deployment, "owner", "intruder", timeout_s=15)


def test_a_service_that_isolates_its_users_has_no_leak(tmp_path: Path) -> None:
    with running(f"sqlite:///{tmp_path / 'iso.db'}", tmp_path / "serve.log", workers=1) as server:
        result = _probe(server)
    assert result.leaks == []
    assert result.not_exercised == []
    assert len(result.checks) >= 18


def test_a_route_that_skips_the_owner_check_is_a_leak(tmp_path: Path) -> None:
    env = {"TASKORA_FAILPOINTS": "skip_owner_check=1"}
    with running(
        f"sqlite:///{tmp_path / 'iso.db'}", tmp_path / "serve.log", workers=1, env=env
    ) as server:
        result = _probe(server)
    assert result.leaks == ["GET /api/tasks/{owner task}: answered 200"]
