"""The load stage's plots draw what their question needs, and step aside without it."""

from __future__ import annotations

import pytest

from harness.load_plots import load_over_time, percentiles, phases
from harness.plots import plotter
from harness.verdicts import Sample, Verdict

matplotlib = pytest.importorskip("matplotlib", reason="the plots need the harness extra")
from matplotlib.figure import Figure  # noqa: E402

ENDPOINTS = [
    {"method": "GET", "name": "list", "p50_ms": 3.0, "p95_ms": 14.0, "p99_ms": 40.0},
    {"method": "POST", "name": "create", "p50_ms": 7.0, "p95_ms": 44.0, "p99_ms": None},
    {"method": "SSE", "name": "SSE delivery", "p50_ms": 31.0, "p95_ms": 67.0, "p99_ms": 96.0},
]
TIMELINE = [[0.0, 0.0, 0.0, 0.0, None], [1.0, 40.0, 12.5, 0.0, 9.0], [2.0, 80.0, 30.0, 1.0, 11.0]]


def _verdict(**details: object) -> Verdict:
    return Verdict(
        "SC-009", "P95", "pass", threshold=500.0, measured=26.0, unit="ms", details=dict(details)
    )


def test_percentiles_are_bars_per_api_endpoint_beside_the_p95_over_time() -> None:
    fig = Figure()
    assert percentiles(fig, _verdict(endpoints=ENDPOINTS, timeline=TIMELINE))
    bars, over_time = fig.axes
    assert len(bars.patches) == 3 * 2  # P50, P95, P99 of list and create; SSE is not the API's
    assert [t.get_text() for t in bars.get_xticklabels()] == ["list", "create"]
    assert list(over_time.lines[0].get_ydata())[1:] == [9.0, 11.0]
    assert not percentiles(Figure(), _verdict())


def test_the_load_over_time_shows_users_requests_and_failures() -> None:
    fig = Figure()
    assert load_over_time(fig, _verdict(timeline=TIMELINE))
    users, rates = fig.axes
    assert list(users.lines[0].get_ydata()) == [0.0, 40.0, 80.0]
    assert [line.get_label() for line in rates.lines] == ["requests/s", "failures/s"]
    assert not load_over_time(Figure(), _verdict(timeline=TIMELINE[:1]))


def test_phases_are_one_curve_each_and_need_two_of_them() -> None:
    samples = [Sample("idle: w0", 0.02), Sample("idle: w1", 0.05), Sample("under_load: w0", 0.4)]
    verdict = Verdict(
        "SC-002", "sync", "pass", threshold=2.0, measured=0.4, unit="s", samples=samples
    )
    fig = Figure()
    assert phases(fig, verdict)
    labels = [line.get_label().split(":")[0] for line in fig.axes[0].lines]
    assert labels == ["idle", "under load", "threshold 2 s"]
    verdict.samples = samples[:2]
    assert not phases(Figure(), verdict)
    verdict.samples = [Sample("second3", 1.0), Sample("idle: w0", 0.1)]
    assert not phases(Figure(), verdict)


def test_the_report_draws_them_as_png() -> None:
    png = plotter()(_verdict(endpoints=ENDPOINTS, timeline=TIMELINE), [14.0, 44.0])  # type: ignore[misc]
    assert png.startswith(b"\x89PNG")
