"""The verdict on a CI job's page: in GitHub Actions (``GITHUB_STEP_SUMMARY`` set) a run appends
a Markdown table of its criteria to the job's summary; elsewhere it writes nothing."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from harness.report import summary_rows
from harness.verdicts import Report

__all__ = ["VARIABLE", "step_summary", "write_step_summary"]

VARIABLE = "GITHUB_STEP_SUMMARY"
_MARK = {"pass": "✅ pass", "fail": "❌ fail", "error": "⚠️ error", "skip": "⏭️ skip"}


def _cell(text: str) -> str:
    """One Markdown table cell: no line break, no column separator."""
    return " ".join(text.split()).replace("|", "\\|")


def step_summary(report: Report, report_dir: str) -> str:
    """Failed criteria first, each with its reason, then the others."""
    order = {"fail": 0, "error": 1, "pass": 2, "skip": 3}
    rows = sorted(summary_rows(report), key=lambda row: order.get(row[2], 4))
    lines = [
        f"### taskora-harness: {_MARK.get(report.verdict, report.verdict)}",
        "",
        f"{report.target} target, {report.profile} profile; reports in `{report_dir}`",
        "",
        "| criterion | verdict | measured | threshold | reason |",
        "|---|---|---|---|---|",
    ]
    for criterion, _title, verdict, measured, threshold, reason in rows:
        cells = (criterion, _MARK.get(verdict, verdict), measured, threshold, reason)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n\n"


def write_step_summary(
    report: Report, report_dir: str, environ: Mapping[str, str] = os.environ
) -> Path | None:
    """Append the summary to the job's summary file; the file, or None outside Actions."""
    path = environ.get(VARIABLE)
    if not path:
        return None
    with Path(path).open("a", encoding="utf-8") as summary:
        summary.write(step_summary(report, report_dir))
    return Path(path)
