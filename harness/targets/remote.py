"""A target that the harness does not start: an existing deployment at a URL. (The Kubernetes
clusters are in ``kubernetes.py`` and ``clusters.py``.)"""

from __future__ import annotations

import httpx

from harness.errors import TargetUnavailable, UsageError
from harness.targets import Capabilities, Deployment
from harness.targets.tokens import fixed_token, token_factory

__all__ = ["UrlTarget"]


class UrlTarget:
    name = "url"
    capabilities = Capabilities()
    store_url: str | None = None  # the database is not the harness's to reach

    def __init__(
        self, url: str, *, jwt_secret: str | None = None, token: str | None = None
    ) -> None:
        if not url:
            raise UsageError("--target url needs --url http://host:port")
        if not (jwt_secret or token):
            raise UsageError("--target url needs --jwt-secret (the service's) or --token")
        self.url = url.rstrip("/")
        self.token = token_factory(jwt_secret) if jwt_secret else fixed_token(token or "")

    def preflight(self) -> None:
        self.up()

    def up(self) -> Deployment:
        try:
            ready = httpx.get(f"{self.url}/ready", timeout=5)
        except httpx.HTTPError as exc:
            raise TargetUnavailable(f"{self.url} is unreachable: {exc}") from None
        if ready.status_code != 200:
            raise TargetUnavailable(
                f"{self.url}/ready answered {ready.status_code}: {ready.text[:200]}"
            )
        return Deployment(target=self.name, base_url=self.url, token=self.token)

    def down(self) -> None:
        pass

    def replicas(self, role: str | None = None) -> list[str]:
        return []

    def kill(self, replica: str) -> None:
        raise TargetUnavailable("the url target cannot kill replicas")

    def crash(self, role: str | None = None) -> None:
        raise TargetUnavailable("the url target cannot kill the service")

    def restart(self, role: str | None = None) -> None:
        raise TargetUnavailable("the url target cannot start the service")

    def stop_broker(self) -> None:
        raise TargetUnavailable("the url target cannot reach the broker")

    def start_broker(self) -> None:
        self.stop_broker()
