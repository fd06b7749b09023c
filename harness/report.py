"""Reports of a harness run, one module per output, all rendered from the same ``Report``:

- ``report.json`` (``harness.report_json``): the source of truth, read back by ``load_report``;
- ``junit.xml`` (``harness.report_junit``);
- ``samples/<id>.csv`` (``harness.report_csv``): each criterion's raw samples;
- ``report.html`` (``harness.report_html``): the self-contained page with the plots.

``write_reports`` writes them all; ``summary_rows`` is the terminal's table of the verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.formatting import format_pair
from harness.report_csv import write_samples
from harness.report_html import render_html
from harness.report_json import load_report, write_json
from harness.report_junit import write_junit
from harness.verdicts import Report

__all__ = ["ReportFiles", "load_report", "render_html", "summary_rows", "write_reports"]


@dataclass(frozen=True)
class ReportFiles:
    """The files ``write_reports`` wrote."""

    directory: Path
    json: Path  # report.json
    junit: Path  # junit.xml
    html: Path  # report.html
    samples: tuple[Path, ...]  # samples/<id>.csv, one per criterion with samples


def write_reports(report: Report, directory: Path) -> ReportFiles:
    """Write report.json, junit.xml, samples/<id>.csv and report.html in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    report_json = directory / "report.json"
    write_json(report, report_json)
    samples = tuple(write_samples(v, directory / "samples") for v in report.criteria if v.samples)
    junit_xml = directory / "junit.xml"
    write_junit(report, junit_xml)
    report_html = directory / "report.html"
    report_html.write_text(render_html(report), encoding="utf-8")
    return ReportFiles(directory, report_json, junit_xml, report_html, samples)


def summary_rows(report: Report) -> list[tuple[str, ...]]:
    """One row per criterion for a terminal table: id, title, verdict, measured, threshold, reason.

    Values carry their unit (``1.25 s``, ``310.4 ms``; ratios and counts bare); ``-`` where absent.
    """
    rows: list[tuple[str, ...]] = []
    for v in report.criteria:
        measured, threshold = format_pair(v.measured, v.threshold, v.unit)
        reason = " ".join(v.reason.split()) or "-"
        rows.append((v.id, v.title, v.verdict, measured, threshold, reason))
    return rows
