"""The terminal view of a run: a line per criterion test as it finishes, then a summary."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table

from harness.report import summary_rows
from harness.verdicts import Report

__all__ = ["LiveView", "failure_reason", "print_summary"]

STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold magenta", "skip": "yellow"}


def failure_reason(report: pytest.TestReport) -> str:
    """One line: a skip's reason, or a failure's message (the assertion's own words, not the
    ``file:line: AssertionError`` location)."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return report.longrepr[2].removeprefix("Skipped: ")
    if not report.failed:
        return ""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = str(getattr(crash, "message", "")) or report.longreprtext.strip()
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first.removeprefix("AssertionError: ")


class LiveView:
    """A pytest plugin object: shows progress while the scenarios run."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status = console.status("starting the target ...")
        self._status.start()
        self._setup_s: dict[str, float] = {}  # a test's fixtures (the load stage) take time too
        self._capture: Any = None  # pytest's capture manager, once configured

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._status.update(f"running {nodeid.split('/')[-1]}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            self._setup_s[report.nodeid] = report.duration
        if report.when != "call" and not (report.failed or report.skipped):
            return
        outcome = "skip" if report.skipped else "fail" if report.failed else "pass"
        name = report.nodeid.split("/")[-1].replace(".py::", "  ")
        setup = self._setup_s.pop(report.nodeid, 0.0) if report.when == "call" else 0.0
        took = report.duration + setup
        self.console.print(
            f"[{STYLE[outcome]}]{outcome.upper():5}[/] {name}  [dim]{took:.1f} s[/]"
            + (f"  {detail}" if (detail := failure_reason(report)) else "")
        )

    def pytest_configure(self, config: pytest.Config) -> None:
        self._capture = config.pluginmanager.getplugin("capturemanager")

    @pytest.hookimpl(optionalhook=True)  # specified by harness.pytest_plugin
    def pytest_harness_progress(self, line: str) -> None:
        """A line of its own (a terminal and CI logs alike), printed past pytest's capture of
        the test's output, as pytest's live logging does."""
        with self._capture.global_and_fixture_disabled() if self._capture else nullcontext():
            self.console.print(f"[dim]{line}[/]", highlight=False)
            self._status.update(line)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.console.print(f"[bold red]cannot load {report.nodeid}:[/] {report.longreprtext}")

    def pytest_sessionfinish(self) -> None:
        self._status.stop()


def print_summary(console: Console, report: Report, report_dir: str) -> None:
    table = Table(title=f"taskora-harness: {report.target} target, {report.profile} profile")
    for column in ("criterion", "verdict", "measured", "threshold", "reason"):
        table.add_column(column, overflow="fold")
    for criterion, _title, verdict, *rest in summary_rows(report):
        table.add_row(criterion, f"[{STYLE.get(verdict, '')}]{verdict}[/]", *rest)
    console.print(table)
    overall = report.verdict
    console.print(f"[{STYLE.get(overall, '')}]{overall.upper()}[/]  reports in {report_dir}")
