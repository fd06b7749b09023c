"""Reports of a harness run: ``report.json``, ``junit.xml``, ``samples/*.csv`` and ``report.html``.

``report.json`` is the source of truth (``Report.to_json``); the other files are rendered from the
same ``Report``. The HTML page is self-contained: styles inline, plots embedded as base64 PNGs,
no scripts and no external URLs. Plots need matplotlib (an optional dependency, drawn with the
Agg canvas, so no global backend is selected); without it the page says how to get them.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import re
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import ValidationError

from harness.errors import UsageError
from harness.formatting import format_pair
from harness.plots import plotter
from harness.report_schema import SCHEMA_FILE, ReportDocument
from harness.verdicts import REPORT_SCHEMA, Report, Verdict

__all__ = ["ReportFiles", "load_report", "render_html", "summary_rows", "write_reports"]

SUITE = "taskora-harness"
MATPLOTLIB_NOTE = (
    "Plots are left out: matplotlib is not installed here. "
    "`pip install matplotlib` (or the project's `harness` extra) adds them."
)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_ORDER = ("fail", "error", "pass", "skip")  # the page lists what went wrong first
_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#bc4c00", "skip": "#6e7781"}


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
    document = report.to_json()
    ReportDocument.model_validate(document)  # the published schema's shape, or a harness bug
    report_json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    samples = tuple(_write_samples(v, directory / "samples") for v in report.criteria if v.samples)
    junit_xml = directory / "junit.xml"
    _junit(report).write(junit_xml, encoding="utf-8", xml_declaration=True)
    report_html = directory / "report.html"
    report_html.write_text(render_html(report), encoding="utf-8")
    return ReportFiles(directory, report_json, junit_xml, report_html, samples)


def load_report(directory: Path) -> Report:
    """Read ``directory/report.json`` back into a ``Report``."""
    path = directory / "report.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist: give the directory a harness run wrote") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} cannot be read as JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema", REPORT_SCHEMA) != REPORT_SCHEMA:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise UsageError(f"{path} is not a harness report (schema {schema!r}, not {REPORT_SCHEMA})")
    try:
        ReportDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(f"{path} does not follow {SCHEMA_FILE.name}: {where}: {first['msg']} "
                         f"({exc.error_count()} errors)") from None  # fmt: skip
    return Report.from_json(data)


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


# --- samples/<id>.csv ---------------------------------------------------------------------------


def _write_samples(verdict: Verdict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{_FILE_UNSAFE.sub('_', verdict.id) or 'criterion'}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(("label", "value"))
        writer.writerows((s.label, repr(s.value)) for s in verdict.samples)
    return path


# --- junit.xml ----------------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry (ElementTree writes control characters as they are)."""
    return _XML_INVALID.sub("\ufffd", text)


def _raw(value: float | None) -> str:
    """A value as exactly as it was measured (for tools that read the properties)."""
    if value is None:
        return "-"
    return str(int(value)) if math.isfinite(value) and value == int(value) else repr(value)


def _properties(parent: ET.Element, values: Iterable[tuple[str, str]]) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in values:
        ET.SubElement(props, "property", name=name, value=_xml_text(value))


def _junit(report: Report) -> ET.ElementTree:
    counts = {k: sum(v.verdict == k for v in report.criteria) for k in ("fail", "error", "skip")}
    elapsed = max((report.finished_at - report.started_at).total_seconds(), 0.0)
    attrs = {
        "name": SUITE,
        "tests": str(len(report.criteria)),
        "failures": str(counts["fail"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skip"]),
        "time": f"{elapsed:.3f}",
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(
        root, "testsuite", {**attrs, "timestamp": report.started_at.isoformat(timespec="seconds")}
    )
    _properties(
        suite,
        [("target", report.target), ("profile", report.profile), ("verdict", report.verdict)],
    )
    for v in report.criteria:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml_text(f"{SUITE}.{report.target}"),
            name=_xml_text(f"{v.id} {v.title}"),
            time=f"{max(v.duration_s, 0.0):.3f}",
        )
        _properties(
            case,
            [("measured", _raw(v.measured)), ("threshold", _raw(v.threshold)), ("unit", v.unit)],
        )
        reason = _xml_text(v.reason)
        if v.verdict == "fail":
            m, t = format_pair(v.measured, v.threshold, v.unit)
            failure = ET.SubElement(case, "failure", message=reason or "threshold not met")
            failure.text = f"measured {m}, threshold {t}" + (f"\n{reason}" if reason else "")
        elif v.verdict == "error":
            error = ET.SubElement(case, "error", message=reason or "the criterion could not run")
            error.text = reason or None
        elif v.verdict == "skip":
            ET.SubElement(case, "skipped", message=reason or "skipped")
    ET.indent(root)
    return ET.ElementTree(root)


# --- plots --------------------------------------------------------------------------------------


# --- report.html --------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem;
       color: #24292f; max-width: 1100px; }
h1 { margin-bottom: 0.2rem; }
.meta { color: #57606a; margin: 0.2rem 0; }
.overall { display: inline-block; font-size: 2.2rem; font-weight: 700; color: #fff;
           padding: 0.3rem 1.2rem; border-radius: 0.4rem; margin: 0.8rem 0; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.35rem 0.6rem; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { font-weight: 700; text-transform: uppercase; }
td.id { white-space: nowrap; }
section { margin: 1.5rem 0; border-top: 1px solid #d0d7de; }
img { max-width: 100%; height: auto; }
.note { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.5rem 0.8rem; }
pre { background: #f6f8fa; padding: 0.6rem; overflow-x: auto; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _verdict_html(value: str, css_class: str = "badge") -> str:
    colour = _COLOURS.get(value, "#24292f")
    if css_class == "overall":
        style, text = f"background:{colour}", value.upper()
        return f'<div class="overall verdict-{_e(value)}" style="{style}">{_e(text)}</div>'
    style = f"color:{colour}"
    return f'<span class="{css_class} verdict-{_e(value)}" style="{style}">{_e(value)}</span>'


def _artifact_href(path: str) -> str | None:
    """A link for an artifact: relative paths and http(s) URLs; anything else is not linked."""
    scheme = urlsplit(path).scheme.lower()
    if scheme in ("http", "https"):
        return path
    if scheme and len(scheme) > 1:  # javascript:, data:, ... (one letter: a Windows drive)
        return None
    return quote(path.replace("\\", "/"))


def _finite(values: Iterable[float]) -> list[float]:
    return [x for x in values if isinstance(x, int | float) and math.isfinite(x)]


def _stats(values: list[float], unit: str) -> str:
    def fmt(x: float) -> str:
        return format_pair(x, None, unit)[0]

    parts = [
        f"n = {len(values)}",
        f"min {fmt(min(values))}",
        f"median {fmt(statistics.median(values))}",
    ]
    if len(values) >= 2:
        parts.append(f"p95 {fmt(statistics.quantiles(values, n=20, method='inclusive')[18])}")
    parts.append(f"max {fmt(max(values))}")
    return ", ".join(parts)


def render_html(report: Report) -> str:
    """The self-contained HTML page of ``report``."""
    plot = plotter()
    elapsed = (report.finished_at - report.started_at).total_seconds()
    counts = {k: sum(v.verdict == k for v in report.criteria) for k in _COLOURS}
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(SUITE)}: {_e(report.target)} {_e(report.verdict)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Taskora harness report: {_e(report.target)}</h1>",
        f'<p class="meta">Profile <strong>{_e(report.profile)}</strong></p>',
        f'<p class="meta">Started {_e(report.started_at.isoformat(timespec="seconds"))}, '
        f"finished {_e(report.finished_at.isoformat(timespec='seconds'))} "
        f"({elapsed:.1f} s)</p>",
        _verdict_html(report.verdict, "overall"),
        f'<p class="meta">{len(report.criteria)} criteria: '
        + ", ".join(f"{n} {_e(k)}" for k, n in counts.items())
        + "</p>",
        "<h2>Summary</h2>",
        "<table><thead><tr><th>ID</th><th>Title</th><th>Verdict</th><th>Measured</th>"
        "<th>Threshold</th><th>Unit</th><th>Reason</th></tr></thead><tbody>",
    ]
    failed_first = sorted(report.criteria, key=lambda v: _ORDER.index(v.verdict))
    for v in failed_first:
        measured, threshold = format_pair(v.measured, v.threshold, v.unit, with_unit=False)
        out.append(
            f'<tr><td class=id><a href="#{_e(v.id)}">{_e(v.id)}</a></td><td>{_e(v.title)}</td>'
            f"<td>{_verdict_html(v.verdict)}</td><td class=num>{_e(measured)}</td>"
            f"<td class=num>{_e(threshold)}</td><td>{_e(v.unit or '-')}</td>"
            f"<td>{_e(v.reason or '-')}</td></tr>"
        )
    out.append("</tbody></table>")
    if plot is None and any(_finite(s.value for s in v.samples) for v in report.criteria):
        out.append(f'<p class="note">{_e(MATPLOTLIB_NOTE)}</p>')
    out.append("<h2>Criteria</h2>")
    for v in failed_first:
        out.append(f'<section id="{_e(v.id)}"><h3>{_e(v.id)} {_e(v.title)} ')
        out.append(f"{_verdict_html(v.verdict)}</h3>")
        if v.reason:
            out.append(f"<p>{_e(v.reason)}</p>")
        values = _finite(s.value for s in v.samples)
        if values:
            out.append(f'<p class="meta">Samples: {_e(_stats(values, v.unit))}</p>')
            if plot is not None:
                try:
                    png = base64.b64encode(plot(v, values)).decode("ascii")
                except Exception as exc:  # a plot must not cost the report
                    out.append(f'<p class="note">The plot failed: {_e(repr(exc))}</p>')
                else:
                    alt = f"{v.id}: its {len(values)} samples plotted against the threshold"
                    out.append(f'<img src="data:image/png;base64,{png}" alt="{_e(alt)}">')
        if v.details:
            details = json.dumps(v.details, indent=2, default=str, sort_keys=True)
            out.append(f"<details><summary>Details</summary><pre>{_e(details)}</pre></details>")
        out.append("</section>")
    out.extend(_artifacts_html(report.details.get("artifacts")))
    out.append(f'<p class="meta">Schema {_e(report.schema)}</p></body></html>')
    return "\n".join(out) + "\n"


def _artifacts_html(artifacts: Any) -> list[str]:
    if not isinstance(artifacts, dict) or not artifacts:
        return []
    out = ["<h2>Artifacts</h2>", "<ul>"]
    for label, path in artifacts.items():
        href = _artifact_href(str(path))
        if href is None:
            out.append(f"<li>{_e(label)}: <code>{_e(path)}</code></li>")
        else:
            out.append(f'<li><a href="{_e(href)}">{_e(label)}</a> <code>{_e(path)}</code></li>')
    out.append("</ul>")
    return out
