"""The run's reports: report.json, junit.xml, samples/*.csv and the self-contained report.html."""

from __future__ import annotations

import base64
import csv
import json
import re
import struct
import sys
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import junitparser
import pytest

from harness.errors import UsageError
from harness.plots import _per_second, plotter
from harness.report import ReportFiles, load_report, summary_rows, write_reports
from harness.report_schema import SCHEMA_FILE, schema_text
from harness.verdicts import REPORT_SCHEMA, Report, Sample, Verdict

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMG_PREFIX = '<img src="data:image/png;base64,'
SCRIPT_REASON = "<script>alert('x')</script> reminders are off in this profile"
FAIL_REASON = "2 of 8 clients saw the change after 1 s"


def latency_samples() -> list[Sample]:
    return [Sample(f"request {i}", 200.0 + (i * 37) % 250 + i / 10) for i in range(60)]


def sync_samples() -> list[Sample]:
    values = [0.42, 0.55, 0.61, 0.73, 0.88, 0.97, 1.35, 1.8]
    return [Sample(f"client {i}", v) for i, v in enumerate(values)]


def make_report() -> Report:
    return Report(
        target="local",
        profile="smoke",
        started_at=datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC),
        finished_at=datetime(2026, 3, 1, 12, 4, 30, tzinfo=UTC),
        criteria=[
            Verdict(
                "SC-009",
                "P95 response time under load",
                "pass",
                threshold=500.0,
                measured=431.27,
                unit="ms",
                samples=latency_samples(),
                duration_s=61.5,
            ),
            Verdict(
                "SC-002",
                "Changes reach every other client within the time limit",
                "fail",
                threshold=1.0,
                measured=1.8,
                unit="s",
                reason=FAIL_REASON,
                samples=sync_samples(),
                details={"clients": 8},
                duration_s=12.25,
            ),
            Verdict(
                "SC-004",
                "Reminders are delivered on time",
                "skip",
                threshold=5.0,
                unit="s",
                reason=SCRIPT_REASON,
            ),
            Verdict(
                "SC-007",
                "Availability over the whole run, chaos included",
                "error",
                threshold=0.999,
                unit="ratio",
                reason="probe crashed: connection refused",
                duration_s=0.5,
            ),
        ],
        details={
            "artifacts": {
                "Locust report": "locust/report.html",
                "Chaos journal": "chaos/journal #1.json",
                "Sneaky": "javascript:alert(1)",
            }
        },
    )


@pytest.fixture
def report() -> Report:
    return make_report()


@pytest.fixture
def files(report: Report, tmp_path: Path) -> ReportFiles:
    return write_reports(report, tmp_path / "run")


def test_writes_every_file_in_a_new_directory(files: ReportFiles, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert files.directory == run
    assert (files.json, files.junit, files.html) == (
        run / "report.json",
        run / "junit.xml",
        run / "report.html",
    )
    assert files.samples == (run / "samples" / "SC-009.csv", run / "samples" / "SC-002.csv")
    assert all(p.is_file() for p in (files.json, files.junit, files.html, *files.samples))


def test_report_json_round_trips(files: ReportFiles, report: Report) -> None:
    data = json.loads(files.json.read_text(encoding="utf-8"))
    assert data["schema"] == REPORT_SCHEMA
    assert data["verdict"] == "error"
    assert data["target"] == "local"
    assert [c["verdict"] for c in data["criteria"]] == ["pass", "fail", "skip", "error"]
    assert files.json.read_text(encoding="utf-8") == json.dumps(report.to_json(), indent=2) + "\n"
    loaded = load_report(files.directory)
    assert loaded == report
    assert loaded.verdict == "error"


def test_load_report_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_report(tmp_path)
    (tmp_path / "report.json").write_text('{"schema": "something/else"}', encoding="utf-8")
    with pytest.raises(UsageError, match="not a harness report"):
        load_report(tmp_path)
    (tmp_path / "report.json").write_text(json.dumps({"schema": REPORT_SCHEMA}), encoding="utf-8")
    with pytest.raises(UsageError, match=r"does not follow report-v1.json: target: Field required"):
        load_report(tmp_path)
    (tmp_path / "report.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match="cannot be read as JSON"):
        load_report(tmp_path)


def _properties(case: junitparser.TestCase) -> dict[str, str]:
    props = case.child(junitparser.Properties)
    assert props is not None
    return {p.name: p.value for p in props}


def test_junit_counts_and_results(files: ReportFiles) -> None:
    xml = junitparser.JUnitXml.fromfile(str(files.junit))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert suite.name == "taskora-harness"
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (4, 1, 1, 1)
    assert suite.timestamp == "2026-03-01T12:00:00+00:00"
    assert suite.time == pytest.approx(270.0)
    cases = {case.name: case for case in suite}
    assert list(cases) == [
        "SC-009 P95 response time under load",
        "SC-002 Changes reach every other client within the time limit",
        "SC-004 Reminders are delivered on time",
        "SC-007 Availability over the whole run, chaos included",
    ]
    assert {case.classname for case in suite} == {"taskora-harness.local"}
    passed, failed, skipped, errored = cases.values()
    assert passed.is_passed and passed.time == pytest.approx(61.5)
    assert failed.is_failure and skipped.is_skipped and errored.is_error
    (failure,) = failed.result
    assert isinstance(failure, junitparser.Failure)
    assert failure.message == FAIL_REASON
    assert "measured 1.8 s, threshold 1 s" in (failure.text or "")
    (skip,) = skipped.result
    assert isinstance(skip, junitparser.Skipped) and skip.message == SCRIPT_REASON
    (error,) = errored.result
    assert isinstance(error, junitparser.Error)
    assert error.message == "probe crashed: connection refused"
    assert _properties(passed) == {"measured": "431.27", "threshold": "500", "unit": "ms"}
    assert _properties(errored) == {"measured": "-", "threshold": "0.999", "unit": "ratio"}
    # the counts declared agree with the results junitparser finds
    declared = (suite.tests, suite.failures, suite.errors, suite.skipped)
    suite.update_statistics()
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == declared


def test_junit_stays_well_formed_with_control_characters(report: Report, tmp_path: Path) -> None:
    report.criteria[1].reason = "bad byte \x1b[31m here & <there>"
    files = write_reports(report, tmp_path)
    xml = junitparser.JUnitXml.fromfile(str(files.junit))
    (failure,) = next(c for c in next(iter(xml)) if c.name.startswith("SC-002")).result
    assert failure.message == "bad byte \ufffd[31m here & <there>"


def test_samples_csv_rows_equal_the_samples(files: ReportFiles, report: Report) -> None:
    by_id = {v.id: v for v in report.criteria}
    for path in files.samples:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert rows[0] == ["label", "value"]
        samples = [Sample(label, float(value)) for label, value in rows[1:]]
        assert samples == by_id[path.stem].samples
    assert sorted(p.name for p in (files.directory / "samples").iterdir()) == [
        "SC-002.csv",
        "SC-009.csv",
    ]


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_html_page(files: ReportFiles) -> None:
    pytest.importorskip("matplotlib")
    page = files.html.read_text(encoding="utf-8")
    for criterion in ("SC-009", "SC-002", "SC-004", "SC-007"):
        assert f'<section id="{criterion}">' in page
        assert f'<td class=id><a href="#{criterion}">{criterion}</a>' in page
    assert re.search(r'<div class="overall verdict-error"[^>]*>ERROR</div>', page)
    assert "local" in page and "smoke" in page
    assert "2026-03-01T12:00:00+00:00" in page and "2026-03-01T12:04:30+00:00" in page
    # the summary: measured, threshold and unit per criterion; reasons escaped
    assert "<td class=num>431.3</td><td class=num>500</td><td>ms</td>" in page
    assert "<td class=num>1.8</td><td class=num>1</td><td>s</td>" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script" not in page
    # one plot per criterion with samples, in the sections of those criteria
    assert page.count(IMG_PREFIX) == 2
    sections = re.findall(r'<section id="(SC-\d+)">(.*?)</section>', page, re.S)
    # failed criteria first (SC-002 failed), then the others in the report's order
    assert [cid for cid, body in sections if IMG_PREFIX in body] == ["SC-002", "SC-009"]
    images = _images(page)
    assert all(png.startswith(PNG_SIGNATURE) for png in images)
    width, height = struct.unpack(">II", images[0][16:24])  # the IHDR chunk
    assert width >= 600 and height >= 250
    assert "pip install matplotlib" not in page
    # self-contained: no external URL anywhere but in links the report was given
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page


def test_html_lists_artifacts_as_links(files: ReportFiles) -> None:
    page = files.html.read_text(encoding="utf-8")
    assert "<h2>Artifacts</h2>" in page
    assert '<a href="locust/report.html">Locust report</a>' in page
    assert '<a href="chaos/journal%20%231.json">Chaos journal</a>' in page
    assert 'href="javascript:' not in page
    assert "<li>Sneaky: <code>javascript:alert(1)</code></li>" in page


def test_html_without_artifacts_has_no_artifacts_section(report: Report, tmp_path: Path) -> None:
    report.details = {}
    page = write_reports(report, tmp_path).html.read_text(encoding="utf-8")
    assert "Artifacts" not in page


def test_html_without_matplotlib(
    report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "matplotlib",
        "matplotlib.figure",
        "matplotlib.ticker",
        "matplotlib.backends.backend_agg",
    ):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: the import fails
    with pytest.raises(ImportError):
        import matplotlib.figure  # noqa: F401
    files = write_reports(report, tmp_path)
    page = files.html.read_text(encoding="utf-8")
    assert IMG_PREFIX not in page
    assert page.count("pip install matplotlib") == 1
    assert all(f'<section id="{c.id}">' in page for c in report.criteria)
    assert 'class="overall verdict-error"' in page
    assert len(files.samples) == 2  # the CSVs do not need matplotlib


def test_plots_for_edge_case_samples(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    criteria = [
        # all equal, many: histogram of one value; threshold far away
        Verdict("SC-001", "t", "pass", 60.0, 3.0, "s", samples=[Sample("x", 3.0)] * 30),
        # one sample, no threshold
        Verdict("SC-010", "t", "pass", None, 0.0, "count", samples=[Sample("lost", 0.0)]),
        # non-finite samples are left out of the plot; nothing finite, no plot
        Verdict("SC-008", "t", "fail", 0.0, 1.0, "count", samples=[Sample("x", float("nan"))]),
    ]
    report = Report("kind", "full", start, start, criteria)
    page = write_reports(report, tmp_path).html.read_text(encoding="utf-8")
    images = _images(page)
    assert len(images) == 2
    assert all(png.startswith(PNG_SIGNATURE) for png in images)
    assert "The plot failed" not in page


def test_summary_rows(report: Report) -> None:
    assert summary_rows(report) == [
        ("SC-009", "P95 response time under load", "pass", "431.3 ms", "500 ms", "-"),
        (
            "SC-002",
            "Changes reach every other client within the time limit",
            "fail",
            "1.8 s",
            "1 s",
            FAIL_REASON,
        ),
        ("SC-004", "Reminders are delivered on time", "skip", "-", "5 s", SCRIPT_REASON),
        (
            "SC-007",
            "Availability over the whole run, chaos included",
            "error",
            "-",
            "0.999",
            "probe crashed: connection refused",
        ),
    ]


@pytest.mark.parametrize(
    ("measured", "threshold", "unit", "expected"),
    [
        (1.23456, 2.0, "s", ("1.235 s", "2 s")),
        (0.0004, 0.5, "s", ("0.0004 s", "0.5 s")),
        (1234.56, 1000.0, "ms", ("1234.6 ms", "1000 ms")),
        (0.99951, 0.999, "ratio", ("0.99951", "0.999")),
        (3.0, 0.0, "count", ("3", "0")),
        # different values never look equal, however close
        (0.99949999, 0.9995, "ratio", ("0.99949999", "0.9995")),
        (1.0004, 1.0, "s", ("1.0004 s", "1 s")),
        (float("nan"), 1.0, "s", ("nan s", "1 s")),
    ],
)
def test_summary_rows_precision(
    measured: float, threshold: float, unit: str, expected: tuple[str, str]
) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    verdict = Verdict("SC-001", "t", "fail", threshold, measured, unit, reason="a\n  b")
    ((*_, m, t, reason),) = summary_rows(Report("local", "smoke", start, start, [verdict]))
    assert (m, t) == expected
    assert reason == "a b"


def test_a_run_that_judged_nothing_is_an_error_never_a_pass() -> None:
    from datetime import UTC, datetime

    from harness.verdicts import Report, Verdict

    now = datetime.now(UTC)
    skipped = Verdict("SC-001", "t", "skip", reason="not here")
    assert Report("local", "quick", now, now, [skipped]).verdict == "error"
    assert Report("local", "quick", now, now, []).verdict == "error"
    passed = Verdict("SC-002", "t", "pass")
    assert Report("local", "quick", now, now, [skipped, passed]).verdict == "pass"


def test_non_finite_values_and_odd_details_are_written_as_valid_json(tmp_path) -> None:
    import json
    from datetime import UTC, datetime
    from pathlib import Path

    from harness.report import write_reports
    from harness.verdicts import Report, Sample, Verdict

    now = datetime.now(UTC)
    verdict = Verdict(
        "SC-002",
        "t",
        "fail",
        threshold=2.0,
        measured=float("inf"),
        samples=[Sample("a", 1.0), Sample("b", float("nan"))],
        details={"when": now, "where": Path("/x"), "worst": float("-inf"), "note": "NaN stays"},
    )
    write_reports(Report("local", "quick", now, now, [verdict]), tmp_path)
    data = json.loads((tmp_path / "report.json").read_text(), parse_constant=lambda c: 1 / 0)
    criterion = data["criteria"][0]
    assert criterion["measured"] is None and criterion["samples"] == [["a", 1.0]]
    assert criterion["details"]["worst"] is None and criterion["details"]["note"] == "NaN stays"
    assert criterion["details"]["where"] == "/x"


def test_the_published_schema_is_what_the_models_generate() -> None:
    """Regenerate with: python -m harness schema > harness/schemas/report-v1.json"""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text()
    jsonschema.Draft202012Validator.check_schema(json.loads(schema_text()))


def test_a_written_report_follows_the_published_schema(tmp_path: Path) -> None:
    write_reports(make_report(), tmp_path)
    written = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.validate(written, schema, cls=jsonschema.Draft202012Validator)
    written["criteria"][0]["verdict"] = "maybe"  # and the schema does say no
    with pytest.raises(jsonschema.ValidationError, match="'maybe' is not one of"):
        jsonschema.validate(written, schema, cls=jsonschema.Draft202012Validator)


def test_per_second_samples_are_drawn_as_a_timeline() -> None:
    pytest.importorskip("matplotlib", reason="plots need matplotlib (the harness extra)")
    samples = [Sample(f"second{n}", 1.0) for n in range(30)]
    samples[12] = Sample("second12", 0.4)
    verdict = Verdict("SC-007", "Availability", "fail", 0.999, 0.98, "ratio", samples=samples)
    assert _per_second(verdict) == [(n, 0.4 if n == 12 else 1.0) for n in range(30)]
    png = plotter()(verdict, [s.value for s in samples])  # type: ignore[misc]
    assert png.startswith(b"\x89PNG")
    latencies = Verdict("SC-009", "P95", "pass", 500, 120, "ms", samples=[Sample("list", 120)])
    assert _per_second(latencies) is None  # drawn as a distribution
