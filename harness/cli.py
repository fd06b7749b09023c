"""``python -m harness`` (``taskora-harness``): validate, load, chaos, up, down, report.

Exit codes: 0 every criterion that applies passed; 1 a criterion failed or errored; 2 the
harness could not run (bad arguments, target unavailable), with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from rich.console import Console

from harness.chaos.runner import EXPERIMENTS
from harness.chaos.suite import run_suite
from harness.errors import HarnessError, UsageError
from harness.live import LiveView, print_summary
from harness.options import Options, add_target_flags, flags_of, options_from
from harness.profile import load_profile
from harness.report import load_report, write_reports
from harness.report_schema import schema_text
from harness.run import build_target, default_report_dir, preflight_prometheus
from harness.selftest import run_selftest
from harness.step_summary import write_step_summary
from harness.targets.local import LocalTarget
from harness.targets.running import STATE, StackState

__all__ = ["main"]


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_flags(parser.add_argument)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taskora-harness", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="run the success criteria, write reports")
    _target_arguments(validate)
    validate.add_argument("--report-dir", type=Path, help="default reports/<UTC timestamp>/")
    validate.add_argument("--scenarios", type=Path, default=Path("scenarios"))
    validate.add_argument("-k", dest="select", help="only scenarios matching (pytest -k)")
    load = commands.add_parser("load", help="only the Locust load stage (SC-008, SC-009)")
    _target_arguments(load)
    load.add_argument("--report-dir", type=Path, help="default reports/<UTC timestamp>/")
    load.add_argument("--scenarios", type=Path, default=Path("scenarios"))
    load.set_defaults(select="sc008 or sc009")
    chaos = commands.add_parser("chaos", help="run the chaos experiments (SC-010)")
    _target_arguments(chaos)
    chaos.add_argument("--report-dir", type=Path, help="default reports/<UTC timestamp>/")
    chaos.add_argument(
        "--experiment",
        action="append",
        choices=EXPERIMENTS,
        help="run only this one (repeatable; default: all)",
    )
    up = commands.add_parser("up", help="start the local stack and leave it running")
    _target_arguments(up)
    commands.add_parser("down", help="stop what 'up' started")
    report = commands.add_parser("report", help="summarise a report directory, re-render it")
    report.add_argument("directory", type=Path)
    commands.add_parser("schema", help="print the JSON Schema of report.json")
    selftest = commands.add_parser("selftest", help="prove every planted fault is caught")
    selftest.add_argument("--report-dir", type=Path, default=Path("reports") / "selftest")
    selftest.add_argument("--jobs", type=int, default=1, help="cases run at a time (default 1)")
    return parser


def _options(args: argparse.Namespace) -> Options:
    return options_from(lambda dest: getattr(args, dest), getattr(args, "report_dir", None))


def _pytest_arguments(options: Options, args: argparse.Namespace, report_dir: Path) -> list[str]:
    # The scenarios' own configuration, named: pytest would otherwise look for one from the
    # arguments' common directory (a --report-dir outside the repository makes that "/") and
    # fall back to the project's pyproject.toml, whose filterwarnings=error fails the run. No
    # plugin of the environment is loaded (a random order, the test suite's plugins: seconds of
    # imports per run): the scenarios run the same, in their own order, wherever they run.
    scenarios = args.scenarios
    argv = [
        str(scenarios),
        "-c",
        str(scenarios / "pytest.ini"),
        "--rootdir",
        str(scenarios),
        "--disable-plugin-autoload",
        "-p",
        "no:terminal",
        "-p",
        "no:cacheprovider",
        "--report-dir",
        str(report_dir),
        *flags_of(options),
    ]
    if args.select is not None:
        argv += ["-k", args.select]
    return argv


def _validate(args: argparse.Namespace, console: Console) -> int:
    options = _options(args)
    profile = load_profile(options.profile, options.profile_overrides)
    target = build_target(options, profile)
    preflight_prometheus(options, profile)
    target.preflight()
    if not (args.scenarios / "conftest.py").is_file():
        raise UsageError(
            f"no scenarios at {args.scenarios}: run from the repository root or pass --scenarios"
        )
    report_dir = options.report_dir or default_report_dir()
    console.print(
        f"validating the [bold]{options.target}[/] target, [bold]{profile.name}[/] profile: "
        f"{profile.description}"
    )
    code = pytest.main(_pytest_arguments(options, args, report_dir), plugins=[LiveView(console)])
    if not (report_dir / "report.json").is_file():
        return 2 if code in (2, 3, 4, 5) else 1
    report = load_report(report_dir)
    print_summary(console, report, str(report_dir))
    write_step_summary(report, str(report_dir))
    return 0 if report.verdict == "pass" else 1


def _chaos(args: argparse.Namespace, console: Console) -> int:
    options = _options(args)
    profile = load_profile(options.profile, options.profile_overrides)
    build_target(options, profile).preflight()
    report_dir = options.report_dir or default_report_dir()
    experiments = args.experiment or list(EXPERIMENTS)
    report = run_suite(options, profile, experiments, report_dir, console)
    write_reports(report, report_dir)
    print_summary(console, report, str(report_dir))
    write_step_summary(report, str(report_dir))
    return 0 if report.verdict == "pass" else 1


def _up(args: argparse.Namespace, console: Console) -> int:
    options = _options(args)
    if options.target != "local":
        raise UsageError("'up' starts the local target only; other targets are already up")
    target = build_target(options, load_profile(options.profile, options.profile_overrides))
    assert isinstance(target, LocalTarget)
    deployment = target.up()
    StackState(deployment.base_url, target.secret, target.process_groups(), target.store_url).save()
    target.detach()
    console.print(f"taskora is up at {deployment.base_url} (stop it with: python -m harness down)")
    console.print(f"token for user 'demo': {deployment.token('demo')}")
    return 0


def _down(args: argparse.Namespace, console: Console) -> int:
    if not STATE.is_file():
        raise UsageError("nothing to stop: 'python -m harness up' was not run from here")
    url = json.loads(STATE.read_text(encoding="utf-8")).get("url", "")
    for pgid in StackState.process_groups():
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    STATE.unlink()
    console.print(f"stopped taskora at {url}")
    return 0


def _report(args: argparse.Namespace, console: Console) -> int:
    if not (args.directory / "report.json").is_file():
        raise UsageError(f"no report.json in {args.directory}")
    report = load_report(args.directory)
    write_reports(report, args.directory)
    print_summary(console, report, str(args.directory))
    return 0 if report.verdict == "pass" else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=False, highlight=False)
    commands = {
        "validate": _validate,
        "load": _validate,
        "chaos": _chaos,
        "up": _up,
        "down": _down,
        "report": _report,
        "selftest": lambda args, console: run_selftest(console, args.report_dir, args.jobs),
        "schema": lambda args, console: print(schema_text(), end="") or 0,
    }
    try:
        return commands[args.command](args, console)
    except HarnessError as exc:
        print(f"taskora-harness: error: {exc}", file=sys.stderr)
        return 2
