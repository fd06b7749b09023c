"""Locust's result files into numbers: histogram percentiles, the API total without the SSE
rows, the peak users and how long they were held."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.locust_stats import Progress, percentile, read_load_stats, read_progress


def test_percentile_of_a_histogram() -> None:
    histogram = Counter({10: 90, 120: 5, 900: 4, 3000: 1})
    assert percentile(histogram, 0.50) == 10
    assert percentile(histogram, 0.95) == 120
    assert percentile(histogram, 0.99) == 900
    assert percentile(histogram, 1.0) == 3000
    assert percentile(Counter(), 0.95) is None


def _entry(method: str, name: str, times: dict[int, int], failures: int = 0) -> dict[str, object]:
    return {
        "method": method,
        "name": name,
        "num_requests": sum(times.values()),
        "num_failures": failures,
        "max_response_time": max(times),
        "start_time": 1000.0,
        "last_request_timestamp": 1100.0,
        "response_times": {str(k): v for k, v in times.items()},
    }


def _write(tmp_path: Path, entries: list[dict[str, object]], users: list[int]) -> Path:
    (tmp_path / "locust.json").write_text(json.dumps(entries))
    rows = ["Timestamp,User Count,Type,Name,Requests/s,Failures/s,95%"]
    rows += [
        f"{1000 + i},{n},,Aggregated,{n / 10},0.0,{'N/A' if i == 0 else 20 + i}"
        for i, n in enumerate(users)
    ]
    rows += [f"{1000 + i},{n},GET,list,1.0,0,9" for i, n in enumerate(users)]  # only Aggregated
    (tmp_path / "locust_stats_history.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "locust.json"


def test_the_api_total_leaves_the_stream_out_and_the_peak_is_timed(tmp_path: Path) -> None:
    entries = [
        _entry("GET", "list", {10: 95, 200: 5}),
        _entry("POST", "create", {20: 9, 400: 1}, failures=1),
        _entry("SSE", "SSE delivery", {5000: 10}),
    ]
    stats = read_load_stats(
        _write(tmp_path, entries, [10, 50, 100, 100, 100, 60]), tmp_path / "locust"
    )
    assert stats.total.requests == 110 and stats.total.failures == 1
    assert stats.total.p95_ms == 200  # the SSE rows' 5 s are not an API response time
    assert stats.total.max_ms == 400
    assert stats.failure_ratio == pytest.approx(1 / 110)
    assert stats.peak_users == 100 and stats.held_s == 3.0
    assert [e.name for e in stats.endpoints] == ["create", "list", "SSE delivery"]
    assert stats.total.rps == pytest.approx(110 / 100)
    assert stats.timeline[:2] == [[0.0, 10.0, 1.0, 0.0, None], [1.0, 50.0, 5.0, 0.0, 21.0]]
    assert len(stats.timeline) == 6  # one row a second, the aggregated rows only


def test_lost_tasks_are_counted_apart_from_the_api(tmp_path: Path) -> None:
    entries = [
        _entry("GET", "get", {10: 100}),
        _entry("LOST", "created task answered 404", {0: 2}, failures=2),
    ]
    stats = read_load_stats(_write(tmp_path, entries, [10, 10]), tmp_path / "locust")
    assert stats.lost == 2
    assert stats.total.requests == 100 and stats.total.failures == 0
    assert [e.name for e in stats.endpoints] == ["get"]


def test_no_results_is_an_error_not_a_pass(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="no readable results"):
        read_load_stats(tmp_path / "missing.json", tmp_path / "locust")
    with pytest.raises(HarnessError, match="no requests"):
        read_load_stats(_write(tmp_path, [], [1]), tmp_path / "locust")


def test_progress_is_the_latest_aggregated_row(tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    assert read_progress(prefix) is None  # Locust has not written its history yet
    head = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,Total Request Count,"
    rows = [
        head + "Total Failure Count",
        "1000,250,,Aggregated,120.5,0.0,900,0",
        "1001,500,GET,list,80.0,0.0,700,0",
        "1001,500,,Aggregated,240.2,0.5,1500,2",
        "1002,750,,Aggreg",
    ]
    (tmp_path / "locust_stats_history.csv").write_text("\n".join(rows))  # mid-write last row
    assert read_progress(prefix) == Progress(users=500, rps=240.2, requests=1500, failures=2)
