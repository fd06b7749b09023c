"""The terminal view of a run: a failure shows the assertion's own words (not the
``file:line: AssertionError`` location), and a test's time includes its fixtures (SC-008 and
SC-009 spend theirs in the load stage)."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from harness.live import LiveView

pytest_plugins = ["pytester"]

SCENARIOS = """
import time

import pytest


@pytest.fixture
def stage():
    time.sleep(0.3)  # stands for a load stage: time spent before the test body runs


def test_p95(stage):
    p95 = 830
    assert p95 < 500, "P95 830 ms over 10 requests (limit 500 ms)"


def test_deploy():
    pytest.skip("deploy time applies to cluster targets")
"""


def test_failures_read_as_their_reason_and_times_include_fixtures(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_scenario=SCENARIOS)
    out = io.StringIO()
    view = LiveView(Console(file=out, width=300, no_color=True, force_terminal=False))
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-q", plugins=[view])
    result.assert_outcomes(failed=1, skipped=1)
    text = out.getvalue()
    assert "FAIL  test_scenario  test_p95" in text
    assert "P95 830 ms over 10 requests (limit 500 ms)" in text
    assert "AssertionError" not in text and "test_scenario.py:" not in text
    took = re.search(r"test_p95  (\d+\.\d) s", text)
    assert took is not None and float(took.group(1)) >= 0.3
    assert "SKIP  test_scenario  test_deploy" in text
    assert "deploy time applies to cluster targets" in text


PROGRESS = """
import pytest


@pytest.fixture
def load(request):
    for users in (250, 1000):
        request.config.hook.pytest_harness_progress(line=f"load: {users}/1000 users")


def test_p95(load):
    pass
"""


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_of_a_long_stage_is_shown(pytester: pytest.Pytester, terminal: bool) -> None:
    pytester.makeconftest(
        "from harness.pytest_plugin import ProgressHook\n"
        "def pytest_addhooks(pluginmanager):\n"
        "    pluginmanager.add_hookspecs(ProgressHook)\n"
    )
    pytester.makepyfile(test_scenario=PROGRESS)
    out = io.StringIO()
    view = LiveView(Console(file=out, width=300, no_color=True, force_terminal=terminal))
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-q", plugins=[view])
    result.assert_outcomes(passed=1)
    text = out.getvalue()
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # a terminal's escapes
    lines = [line.rsplit("\r", 1)[-1].strip() for line in plain.split("\n")]  # past the spinner
    assert lines.index("load: 250/1000 users") < lines.index("load: 1000/1000 users")
