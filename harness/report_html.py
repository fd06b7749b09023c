"""``report.html``: a self-contained page (styles inline, plots embedded as base64 PNGs, no
scripts and no external URLs), the criteria that went wrong first. Plots need matplotlib (an
optional dependency, drawn with the Agg canvas, so no global backend is selected); without it
the page says how to get them."""

from __future__ import annotations

import base64
import html
import json
import math
import statistics
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

from harness.formatting import format_pair
from harness.plots import plotter
from harness.report_junit import SUITE
from harness.verdicts import Report

__all__ = ["MATPLOTLIB_NOTE", "render_html"]

MATPLOTLIB_NOTE = (
    "Plots are left out: matplotlib is not installed here. "
    "`pip install matplotlib` (or the project's `harness` extra) adds them."
)
_ORDER = ("fail", "error", "pass", "skip")  # the page lists what went wrong first
_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#bc4c00", "skip": "#6e7781"}

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
