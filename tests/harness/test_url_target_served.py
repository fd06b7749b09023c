"""``validate --target url`` against a separately started ``taskora serve``, as QA runs it
against staging: the command a user types, in its own process, with the report directory
outside the repository (which once made pytest fall back to the project's configuration and
crash on a warning before any criterion ran)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.prometheus import LocalPrometheus
from taskora.migrate import upgrade
from tests.process import SECRET, running

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration
# SC-002's under-load run needs the load stage: a small one (the quick profile's 1000 users took
# a minute of both cores per run of this test)
SMALL_LOAD = [
    arg
    for s in (
        "sc008.users=20",
        "sc008.ramp_s=1",
        "sc008.hold_s=3",
        "sc008.ramp_down_s=1",
        "sc008.seed_per_user=1",
        "sc008.sse_every=5",
    )
    for arg in ("--set", s)
]


def _validate_url(
    base_url: str, report_dir: Path, *arguments: str
) -> subprocess.CompletedProcess[str]:
    """``python -m harness validate --target url`` against the service at ``base_url``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "validate",
            "--target",
            "url",
            "--url",
            base_url,
            "--jwt-secret",
            SECRET,
            "--report-dir",
            str(report_dir),
            *arguments,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("report_exists", [False, True])
def test_validate_url_target_judges_a_real_service(tmp_path: Path, report_exists: bool) -> None:
    url = f"sqlite:///{tmp_path / 'taskora.db'}"
    upgrade(url)
    report_dir = tmp_path / "report"
    if report_exists:
        report_dir.mkdir()
    with running(url, tmp_path / "server.log", workers=1) as server:
        done = _validate_url(server.base_url, report_dir, "-k", "sc002 or sc004", *SMALL_LOAD)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-3000:]
    assert done.returncode == 0, output[-3000:]
    report = json.loads((report_dir / "report.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in report["criteria"]}
    assert verdicts["SC-002"] == "pass" and verdicts["SC-004"] == "pass", verdicts


def test_validate_url_target_reads_the_deployments_own_prometheus(
    tmp_path: Path, prometheus_server: str
) -> None:
    url = f"sqlite:///{tmp_path / 'taskora.db'}"
    upgrade(url)
    report_dir = tmp_path / "report"
    with running(url, tmp_path / "server.log", workers=1) as server:
        prometheus = LocalPrometheus(tmp_path / "prometheus", {"api": f"127.0.0.1:{server.port}"})
        prometheus.start()
        try:
            prometheus.wait_scraping()
            done = _validate_url(
                server.base_url,
                report_dir,
                "--prometheus-url",
                prometheus.url,
                "--slo-window",
                "5m",
                "-k",
                "sc007 or obs001 or sec001",
                "--set",
                "sc007.min_ratio=0.99",
                "--set",
                "sc007.min_probes=10",
            )
        finally:
            prometheus.stop()
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-3000:]
    assert done.returncode == 0, output[-3000:]
    criteria = {
        c["id"]: c for c in json.loads((report_dir / "report.json").read_text())["criteria"]
    }
    assert criteria["OBS-001"]["verdict"] == "pass", criteria["OBS-001"]["reason"]
    sc007 = criteria["SC-007"]
    assert sc007["verdict"] == "pass", sc007["reason"]
    details = sc007["details"]
    assert details["server_window"] == "5m" and details["server_ratio"] == 1.0
    assert details["server_up_ratio"] == 1.0 and details["server_requests"] > 10  # the probes
    assert "server over 5m: 100.000% of requests without a 5xx" in sc007["reason"]
