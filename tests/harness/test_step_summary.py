"""The job summary in GitHub Actions: failed criteria first, one table row each, appended to
the file the runner names; nothing anywhere else."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from harness.step_summary import write_step_summary
from harness.verdicts import Report, Verdict


def _report() -> Report:
    now = datetime.now(UTC)
    return Report(
        "local",
        "quick",
        now,
        now,
        [
            Verdict("SC-002", "sync", "pass", threshold=2.0, measured=0.1, unit="s"),
            Verdict(
                "SC-009",
                "P95",
                "fail",
                threshold=500.0,
                measured=812.0,
                unit="ms",
                reason="P95 812 ms | create\nslowest",
            ),
            Verdict("SC-001", "deploy", "skip", reason="cluster targets only"),
        ],
    )


def test_a_run_in_actions_appends_its_table_failed_first(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    for _ in range(2):  # a job that validates twice keeps both tables
        assert write_step_summary(_report(), "reports/x", {"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text()
    assert text.startswith("earlier step\n") and text.count("### taskora-harness: ❌ fail") == 2
    rows = [line for line in text.splitlines() if line.startswith("| SC-")][:3]
    assert [row.split(" | ")[0] for row in rows] == ["| SC-009", "| SC-002", "| SC-001"]
    assert rows[0] == "| SC-009 | ❌ fail | 812 ms | 500 ms | P95 812 ms \\| create slowest |"


def test_outside_actions_nothing_is_written(tmp_path: Path) -> None:
    assert write_step_summary(_report(), "reports/x", {}) is None
    assert list(tmp_path.iterdir()) == []
