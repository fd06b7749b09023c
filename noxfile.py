"""Developer and CI sessions. ``nox -l`` lists them; ``nox -s NAME -- ARGS`` passes ARGS on."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.error_on_missing_interpreters = True
PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the project's tests (PostgreSQL and Redis tests skip where absent, except in CI)."""
    session.install("-e", ".[dev,harness,load,chaos,k8s]")
    args = session.posargs or ["-n", "2", "-ra", "--junitxml=reports/junit-tests.xml"]
    session.run("pytest", *args)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style (ruff) and types (mypy)."""
    session.install("-e", ".[lint,harness]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(python=PYTHON, default=False)
def serve(session: nox.Session) -> None:
    """Start the service on http://127.0.0.1:8000 and print a token for the user 'demo'."""
    session.install("-e", ".")
    token = session.run("taskora", "token", "demo", "--ttl", "86400", silent=True)
    session.log("Taskora: http://127.0.0.1:8000  (API docs at /docs)")
    session.log(f"Token for user 'demo' (valid 24 h): {str(token).strip()}")
    session.log("Try: curl -H 'Authorization: Bearer <token>' http://127.0.0.1:8000/api/tasks")
    session.run("taskora", "serve", *session.posargs)


@nox.session(python=PYTHON)
def validate(session: nox.Session) -> None:
    """Validate a deployment against the success criteria (default: local stack, quick profile)."""
    session.install("-e", ".[harness,load,chaos]")
    session.run("python", "-m", "harness", "validate", *session.posargs)


@nox.session(python=PYTHON, default=False)
def selftest(session: nox.Session) -> None:
    """Plant each fault in a local stack and prove the harness catches it."""
    session.install("-e", ".[harness,load,chaos]")
    session.run("python", "-m", "harness", "selftest", *session.posargs)


@nox.session(python=PYTHON, default=False)
def load(session: nox.Session) -> None:
    """Only the Locust load stage (SC-008 users, SC-009 P95) against a target."""
    session.install("-e", ".[harness,load]")
    session.run("python", "-m", "harness", "load", *session.posargs)


@nox.session(python=PYTHON, default=False)
def chaos(session: nox.Session) -> None:
    """The Chaos Toolkit experiments in chaos/ (SC-010), each against a fresh stack."""
    session.install("-e", ".[harness,chaos]")
    session.run("python", "-m", "harness", "chaos", *session.posargs)
