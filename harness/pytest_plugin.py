"""The pytest plugin that runs ``scenarios/`` as a validation: one module per criterion.

Each scenario module names its criterion (``CRITERION = "SC-002"``) and uses the fixtures
``deployment``, ``profile`` and ``verdict`` (a ``Recorder``: ``verdict.record(measured=...,
threshold=..., samples=...)``). A test's outcome becomes the criterion's verdict: passed ->
pass, an assertion -> fail, any other exception -> error, a skip -> skip with its reason.
Tests marked ``harness_final`` (whole-run criteria) run last; ``harness_final(order=1)`` after
those (OBS-001 reads the alerts of the whole run). At the end the reports are
written to ``--report-dir``.

The same plugin serves ``python -m harness validate`` and plain
``pytest scenarios/test_sc002_sync.py --target local``.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.options import Options, add_target_flags, options_from
from harness.profile import Profile, load_profile
from harness.report import write_reports
from harness.run import Recorder, Run, build_target, default_report_dir
from harness.targets import Deployment

RUN_KEY = pytest.StashKey[Run]()
REPORT_KEY = pytest.StashKey[Path]()


class ProgressHook:
    @pytest.hookspec
    def pytest_harness_progress(self, line: str) -> None:
        """A line of progress from a long stage (the load): the live view shows it."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(ProgressHook)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "taskora validation harness")
    add_target_flags(group.addoption)
    group.addoption("--report-dir", type=Path, default=None)


def options_from_config(config: pytest.Config) -> Options:
    return options_from(config.getoption, config.getoption("report_dir"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "harness_final(order=0): a whole-run criterion; runs last, higher orders later"
    )
    options = options_from_config(config)
    try:
        profile = load_profile(options.profile, options.profile_overrides)
        target = build_target(options, profile)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    report_dir = options.report_dir or default_report_dir()
    config.stash[RUN_KEY] = Run(options, profile, target, report_dir)


@pytest.hookimpl(trylast=True)  # after any plugin that reorders (pytest-randomly)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_final_order)


def _final_order(item: pytest.Item) -> int:
    """0 for a criterion's test; a whole-run one after, ``harness_final(order=N)`` later still."""
    marker = item.get_closest_marker("harness_final")
    return 0 if marker is None else 1 + int(marker.kwargs.get("order", 0))


def pytest_sessionstart(session: pytest.Session) -> None:
    run = session.config.stash[RUN_KEY]
    try:
        run.start()
    except HarnessError as exc:
        run.stop()
        print(f"harness: error: {exc}", file=sys.stderr)
        pytest.exit(f"harness: {exc}", returncode=2)


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN_KEY, None)
    if run is None or run.deployment is None:
        return
    run.stop()
    report = run.report()
    files = write_reports(report, run.report_dir)
    session.config.stash[REPORT_KEY] = files.json
    if report.verdict != "pass" and session.exitstatus == 0:
        session.exitstatus = 1


def _criterion(item: pytest.Item) -> str | None:
    module = getattr(item, "module", None)
    return getattr(module, "CRITERION", None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    criterion = _criterion(item)
    if criterion is None:
        return report
    recorder = item.config.stash[RUN_KEY].recorder(criterion)
    # Its time: setup (fixtures such as the load stage), call and teardown of all its tests.
    recorder.verdict.duration_s += report.duration
    if report.when != "call" and not (report.failed or report.skipped):
        return report
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        recorder.outcomes.append(("skip", reason.removeprefix("Skipped: ")))
    elif report.failed:
        excinfo = call.excinfo
        failed = excinfo is not None and excinfo.errisinstance(AssertionError)
        message = str(excinfo.value).split("\n")[0] if excinfo else report.longreprtext
        recorder.outcomes.append(("fail" if failed else "error", message))
    else:
        recorder.outcomes.append(("pass", ""))
    return report


@pytest.fixture(scope="session")
def harness_run(request: pytest.FixtureRequest) -> Run:
    return request.config.stash[RUN_KEY]


@pytest.fixture(scope="session")
def deployment(harness_run: Run) -> Deployment:
    assert harness_run.deployment is not None
    return harness_run.deployment


@pytest.fixture(scope="session")
def profile(harness_run: Run) -> Profile:
    return harness_run.profile


@pytest.fixture
def verdict(request: pytest.FixtureRequest, harness_run: Run) -> Recorder:
    criterion = _criterion(request.node)
    if criterion is None:
        raise RuntimeError(f"{request.node.nodeid}: the module names no CRITERION")
    return harness_run.recorder(criterion)
