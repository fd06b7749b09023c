"""kill_replicas waits for a killed replica to be replaced: under a new name where the target
renames (pids, pods), under its own name where it restarts in place (compose containers)."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from harness.chaos import activities
from harness.chaos.session import ChaosSession, registered
from harness.chaos.writers import Writers
from harness.errors import HarnessError
from harness.targets import Capabilities, Deployment
from tests.servers import serving


class _Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ready_url() -> Iterator[str]:
    with serving(_Ready) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


class StandInTarget:
    """A stand-in target: ``kill`` replaces the replica under a new name, restarts it under
    its own, or loses it, as told."""

    name = "stand-in"

    def __init__(self, *, renames: bool, comes_back: bool = True) -> None:
        self.capabilities = Capabilities(kill=True, renames_killed=renames)
        self.names = ["r1", "r2"]
        self.comes_back = comes_back
        self.born = 2

    def replicas(self, role: str | None = None) -> list[str]:
        return list(self.names)

    def kill(self, replica: str) -> None:
        self.names.remove(replica)
        if self.comes_back:
            self.born += 1
            self.names.append(f"r{self.born}" if self.capabilities.renames_killed else replica)


def _kill(target: StandInTarget, url: str, timeout: float = 1.0) -> int:
    deployment = Deployment(target="stand-in", base_url=url, token=lambda user: "t")
    session = ChaosSession(target, deployment, Writers(deployment, ["w"]))  # type: ignore[arg-type]
    with registered(session) as configuration:
        return activities.kill_replicas(
            cycles=2, every_s=0, ready_timeout_s=timeout, configuration=configuration
        )


@pytest.mark.parametrize("renames", [True, False])
def test_a_replaced_replica_ends_the_wait(ready_url: str, renames: bool) -> None:
    assert _kill(StandInTarget(renames=renames), ready_url) == 2


def test_a_replica_that_never_comes_back_is_an_error(ready_url: str) -> None:
    with pytest.raises(HarnessError, match="was not replaced"):
        _kill(StandInTarget(renames=True, comes_back=False), ready_url, timeout=0.5)
