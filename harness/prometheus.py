"""A Prometheus server for the local stack, and the PromQL client that reads any Prometheus.

``LocalPrometheus`` runs Debian's ``prometheus`` as its own process group with a generated
configuration: every role of the local target scraped each second (each role's ``/metrics``
aggregates its worker processes) and the project's own alert rules
(``clusters/observability/rules/taskora.rules.yaml``) evaluated each second. Its data directory
stays in the report directory, so the run's series can be read again afterwards
(``prometheus --storage.tsdb.path=DIR``).

``PromQL`` asks a Prometheus's HTTP API for instant queries: the local one, or a deployment's
own (``--prometheus-url``).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from harness.errors import HarnessError, TargetUnavailable
from harness.targets.throwaway import HOST, free_port, stop_group
from harness.waiting import poll

__all__ = ["INSTALL", "SCRAPE_INTERVAL_S", "LocalPrometheus", "PromQL", "rules_file"]

SCRAPE_INTERVAL_S = 1
RULES = Path("clusters") / "observability" / "rules" / "taskora.rules.yaml"
INSTALL = "apt-get install prometheus (Debian), or --prometheus off"
READY_TIMEOUT_S = 30.0
QUERY_TIMEOUT_S = 10.0


def rules_file() -> Path:
    """The project's alert rules, from the repository the harness runs in."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (base / RULES).is_file():
            return (base / RULES).resolve()
    raise HarnessError(f"no {RULES}: run from the repository root")


def scrape_config(targets: dict[str, str], rules: Path) -> dict[str, Any]:
    """Prometheus's configuration: each ``role -> host:port`` scraped every second, labelled
    ``component`` (the role) and ``namespace="local"`` as the cluster's scrape labels them."""
    interval = f"{SCRAPE_INTERVAL_S}s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": "taskora",
                "metrics_path": "/metrics",
                "static_configs": [
                    {"targets": [address], "labels": {"component": role, "namespace": "local"}}
                    for role, address in targets.items()
                ],
            }
        ],
    }


class LocalPrometheus:
    """Debian's ``prometheus`` scraping the local target; ``stop`` ends its process group and
    leaves its data directory (``directory/data``) for the report."""

    def __init__(self, directory: Path, targets: dict[str, str]) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise TargetUnavailable(f"--prometheus local needs the prometheus server: {INSTALL}")
        self.binary = binary
        self.directory = directory
        self.targets = targets
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "prometheus.yml"  # JSON is YAML
        config.write_text(json.dumps(scrape_config(self.targets, rules_file()), indent=2) + "\n")
        command = [
            self.binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.directory / 'data'}",
            f"--web.listen-address={HOST}:{self.port}",
            "--log.level=warn",
        ]
        with (self.directory / "prometheus.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if poll(self._state, timeout=READY_TIMEOUT_S) == "ready":
            return
        self.stop()
        log_tail = (self.directory / "prometheus.log").read_text(errors="replace").strip()
        last = log_tail.splitlines()[-1] if log_tail else "(no output)"
        raise TargetUnavailable(f"prometheus did not become ready on port {self.port}: {last}")

    def _state(self) -> str:
        """``ready``, ``exited``, or empty while it starts."""
        if self.process is None or self.process.poll() is not None:
            return "exited"
        try:
            return "ready" if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200 else ""
        except httpx.HTTPError:
            return ""

    def wait_scraping(self) -> float:
        """Wait until every target answered a scrape; return that moment (a Unix time). Before
        it, absent series make rules such as ``absent(...)`` pending: not the service's doing."""
        promql = PromQL(self.url)
        every_role = f'count(up{{job="taskora"}} == 1) == {len(self.targets)}'
        if poll(lambda: promql.vector(every_role), timeout=READY_TIMEOUT_S, every=0.2):
            return time.time()
        raise TargetUnavailable(
            f"prometheus scraped not every role within {READY_TIMEOUT_S:.0f} s: see "
            f"{self.directory / 'prometheus.log'}"
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_group(process)


class PromQL:
    """Instant queries against a Prometheus's HTTP API (``/api/v1/query``)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def vector(self, expr: str, at: float | None = None) -> list[tuple[dict[str, str], float]]:
        """The query's samples (labels, value) at ``at`` (a Unix time; default now)."""
        params: dict[str, str] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        try:
            answer = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=QUERY_TIMEOUT_S)
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise HarnessError(f"Prometheus at {self.url} did not answer {expr!r}: {exc}") from None
        if body.get("status") != "success":
            raise HarnessError(f"Prometheus refused {expr!r}: {body.get('error', answer.text)}")
        data = body["data"]
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(sample["metric"], float(sample["value"][1])) for sample in data["result"]]

    def wait_scraped(self, moment: float, timeout: float = 10.0) -> bool:
        """Wait until a scrape after ``moment`` (a Unix time) is stored; False at the deadline
        (a deployment's Prometheus may scrape every 15 s or more)."""
        newest = 'max(timestamp(up{job=~".*taskora.*"}))'
        return bool(poll(lambda: (self.scalar(newest) or 0) > moment, timeout=timeout, every=0.2))

    def scalar(self, expr: str, at: float | None = None) -> float | None:
        """The query's one value, or None when it has no sample (or only NaN)."""
        samples = self.vector(expr, at)
        if not samples or math.isnan(samples[0][1]):
            return None
        return samples[0][1]
