"""The harness CLI end to end: exit codes, reports, and verdicts that follow the service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _harness(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["validate", "--target", "kind"], "kind"),
        (
            ["validate", "--target", "url", "--url", "http://127.0.0.1:1", "--token", "t"],
            "unreachable",
        ),
        (["validate", "--target", "url"], "--url"),
        (["validate", "--set", "sc002.nope=1"], "no such setting"),
        (["validate", "--profile", "nope"], "no profile"),
        (["report", "/nonexistent"], "no report.json"),
    ],
)
def test_unusable_runs_exit_2_with_one_line(args: list[str], words: str) -> None:
    result = _harness(*args)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr


@pytest.mark.integration
@pytest.mark.slow
def test_validate_passes_on_the_healthy_local_stack_and_writes_the_reports(tmp_path) -> None:
    result = _harness("validate", "--report-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in report["criteria"]}
    assert report["verdict"] == "pass" and report["schema"] == "taskora-harness/report/v1"
    assert set(verdicts) == {f"SC-{n:03d}" for n in range(1, 11)}
    assert {verdicts[k] for k in ("SC-002", "SC-003", "SC-004", "SC-005", "SC-006", "SC-007")} == {
        "pass"
    }
    assert {verdicts[k] for k in ("SC-001", "SC-008", "SC-009", "SC-010")} == {"skip"}
    assert all(c["reason"] for c in report["criteria"] if c["verdict"] == "skip")
    assert (tmp_path / "junit.xml").is_file() and (tmp_path / "report.html").is_file()
    assert (tmp_path / "samples" / "SC-002.csv").is_file()
    assert "PASS" in result.stdout


@pytest.mark.integration
@pytest.mark.slow
def test_a_planted_fault_turns_its_criterion_red(tmp_path) -> None:
    result = _harness("validate", "--report-dir", str(tmp_path), "--failpoints", "error_rate=0.2",
                      "-k", "sc005 or sc007")  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    verdicts = {c["id"]: c for c in report["criteria"]}
    assert verdicts["SC-007"]["verdict"] == "fail"
    assert verdicts["SC-007"]["measured"] < 0.999
    assert report["verdict"] == "fail"
