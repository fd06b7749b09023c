"""``junit.xml``: one test case per criterion, for CI systems that gate on JUnit results; the
measured value, threshold and unit of each as properties."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from harness.formatting import format_pair
from harness.verdicts import Report

__all__ = ["SUITE", "junit_tree", "write_junit"]

SUITE = "taskora-harness"
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def write_junit(report: Report, path: Path) -> None:
    junit_tree(report).write(path, encoding="utf-8", xml_declaration=True)


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


def junit_tree(report: Report) -> ET.ElementTree:
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
