"""Developer and CI sessions. ``nox -l`` lists them; ``nox -s NAME -- ARGS`` passes ARGS on."""

from __future__ import annotations

import random
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import nox

# The cluster table lives with the harness's cluster targets (standard library only, so nox's own
# interpreter reads it without the project installed).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.targets.clusters import DAPR_INIT, LOCAL_CLUSTERS, TOOL_HINTS  # noqa: E402

nox.options.sessions = ["tests", "lint"]
nox.options.error_on_missing_interpreters = True
# uv creates and fills each session's environment in seconds; virtualenv and pip where uv is missing
nox.options.default_venv_backend = "uv|virtualenv"
PYTHON = "3.11"


TEST_EXTRAS = ".[dev,harness,load,chaos,k8s]"
# What every harness session installs: any --target works, the cluster ones need kubernetes.
HARNESS_EXTRAS = ".[harness,load,chaos,k8s]"
PINNED = ("-c", "constraints.txt")  # the exact versions the suite passed with (see the file)
# In random order (pytest-randomly; the header names the seed, --randomly-seed=N repeats it).
# Three processes on two cores: many tests wait on servers they started (9 % faster than two).
PYTEST = ("-n", "3", "-ra", "-p", "randomly")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the project's tests (PostgreSQL and Redis tests skip where absent, except in CI)."""
    session.install(*PINNED, "-e", TEST_EXTRAS)
    args = session.posargs or [*PYTEST, "--junitxml=reports/junit-tests.xml"]
    session.run("pytest", *args)


@dataclass
class Outcomes:
    """One test across the runs of the flakes session."""

    runs: int = 0
    failed_seeds: list[int] = field(default_factory=list)


def read_outcomes(junit: Path, seed: int, outcomes: dict[str, Outcomes]) -> None:
    """Add one run's JUnit report: every test that ran, and the seed if it failed or errored."""
    failed: dict[str, bool] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            continue
        test = f"{case.get('classname', '')}::{case.get('name', '')}"
        bad = case.find("failure") is not None or case.find("error") is not None
        failed[test] = failed.get(test, False) or bad
    for test, bad in failed.items():
        outcome = outcomes.setdefault(test, Outcomes())
        outcome.runs += 1
        if bad:
            outcome.failed_seeds.append(seed)


@nox.session(python=PYTHON, default=False)
def flakes(session: nox.Session) -> None:
    """Run the tests N times in fresh random orders (-- N [pytest args]); list what failed."""
    runs, extra = 5, list(session.posargs)
    if extra and extra[0].isdigit():
        runs = int(extra.pop(0))
    if runs < 1:
        session.error("usage: nox -s flakes -- [N] [pytest args]")
    session.install(*PINNED, "-e", TEST_EXTRAS)
    reports = Path("reports/flakes")
    shutil.rmtree(reports, ignore_errors=True)
    reports.mkdir(parents=True)
    outcomes: dict[str, Outcomes] = {}
    seeds = random.SystemRandom()
    for run in range(1, runs + 1):
        seed = seeds.randrange(1, 2**32)
        junit = reports / f"run-{run:02d}-seed-{seed}.xml"
        session.log(f"flakes: run {run} of {runs}, --randomly-seed={seed}")
        session.run(
            "pytest",
            *PYTEST,
            f"--randomly-seed={seed}",
            f"--junitxml={junit}",
            *extra,
            success_codes=[0, 1],  # 1: some test failed, which is what is counted here
        )
        if not junit.is_file():
            session.error(f"run {run} (seed {seed}) wrote no JUnit report")
        read_outcomes(junit, seed, outcomes)
    flaky = {test: o for test, o in sorted(outcomes.items()) if o.failed_seeds}
    if not flaky:
        session.log(f"flakes: {len(outcomes)} tests, {runs} runs, no failure")
        return
    width = max(len(test) for test in flaky)
    lines = [f"{'test':<{width}}  failed/runs  seeds"]
    for test, outcome in flaky.items():
        counts = f"{len(outcome.failed_seeds)}/{outcome.runs}"
        lines.append(f"{test:<{width}}  {counts:>11}  {' '.join(map(str, outcome.failed_seeds))}")
    print("\n".join(lines))
    session.error(f"{len(flaky)} of {len(outcomes)} tests failed at least once in {runs} runs")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style (ruff), types (mypy) and the import arrows between layers (import-linter)."""
    session.install(*PINNED, "-e", ".[lint,harness]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("lint-imports")


@nox.session(python=PYTHON, default=False)
def serve(session: nox.Session) -> None:
    """Start the service on http://127.0.0.1:8000 and print a token for the user 'demo'."""
    session.install(*PINNED, "-e", ".")
    token = session.run("taskora", "token", "demo", "--ttl", "86400", silent=True)
    session.log("Taskora: http://127.0.0.1:8000  (API docs at /docs)")
    session.log(f"Token for user 'demo' (valid 24 h): {str(token).strip()}")
    session.log("Try: curl -H 'Authorization: Bearer <token>' http://127.0.0.1:8000/api/tasks")
    session.run("taskora", "serve", *session.posargs)


def _harness(session: nox.Session, command: str) -> None:
    """Install the harness and run one of its commands with the session's arguments."""
    session.install(*PINNED, "-e", HARNESS_EXTRAS)
    session.run("python", "-m", "harness", command, *session.posargs)


@nox.session(python=PYTHON)
def validate(session: nox.Session) -> None:
    """Validate a deployment against the success criteria (default: local stack, quick profile)."""
    _harness(session, "validate")


@nox.session(python=PYTHON, default=False)
def selftest(session: nox.Session) -> None:
    """Plant each fault in a local stack and prove the harness catches it."""
    _harness(session, "selftest")


@nox.session(python=PYTHON, default=False)
def load(session: nox.Session) -> None:
    """Only the Locust load stage (SC-008 users, SC-009 P95) against a target."""
    _harness(session, "load")


@nox.session(python=PYTHON, default=False)
def chaos(session: nox.Session) -> None:
    """The Chaos Toolkit experiments in chaos/ (SC-010), each against a fresh stack."""
    _harness(session, "chaos")


def cluster_commands(session: nox.Session, action: str) -> list[tuple[str, ...]]:
    """The commands for `cluster-<action> -- kind|minikube`; session.error if a tool is missing."""
    names = "|".join(LOCAL_CLUSTERS)
    if len(session.posargs) != 1 or session.posargs[0] not in LOCAL_CLUSTERS:
        session.error(f"usage: nox -s cluster-{action} -- {names}")
    cluster = LOCAL_CLUSTERS[session.posargs[0]]
    commands = [*cluster.create, DAPR_INIT] if action == "up" else [cluster.delete]
    for tool in dict.fromkeys([cluster.tool, *(command[0] for command in commands)]):
        if shutil.which(tool) is None:
            hint = TOOL_HINTS.get(tool, "install it")
            session.error(f"{tool} not found on PATH: install it ({hint}) and retry")
    return commands


@nox.session(name="cluster-up", python=False, default=False)
def cluster_up(session: nox.Session) -> None:
    """Create a local cluster named taskora (-- kind|minikube) with ingress and Dapr."""
    for command in cluster_commands(session, "up"):
        session.run(*command, external=True)


@nox.session(name="cluster-down", python=False, default=False)
def cluster_down(session: nox.Session) -> None:
    """Delete the local cluster named taskora (-- kind|minikube)."""
    for command in cluster_commands(session, "down"):
        session.run(*command, external=True)
