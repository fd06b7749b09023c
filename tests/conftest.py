"""Fixtures shared by the project's tests.

``database_url`` runs a test on SQLite and, where the server answers, on PostgreSQL
(``TASKORA_TEST_POSTGRES_URL``, default the local server's ``test`` database): each test run
gets a database of its own, emptied between tests.

Every test must leave nothing running behind it: ``_leaves_nothing_behind`` fails the test whose
threads or child processes outlive it (see ``tests/leftovers.py``), and temporary files go to a
directory of the test's own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from taskora.app import create_app
from taskora.auth import issue_token
from taskora.db import normalise_url
from taskora.migrate import upgrade
from taskora.settings import Settings
from tests import leftovers
from tests.loop_watch import debug_for, watched_client

POSTGRES_URL = os.environ.get(
    "TASKORA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TASKORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TABLES = (
    "task_tags",
    "tags",
    "tasks",
    "idempotency_keys",
    "outbox",
    "processed_events",
    "dead_letters",
    "leases",
    "notifications",
    "audit_entries",
    "user_preferences",
)

SYSTEM_TEMP = tempfile.gettempdir()  # where temporary files go outside the tests
LEFTOVER_GRACE = 5.0  # seconds a test's threads and processes get to finish after it


@pytest.fixture(autouse=True)
def _temporary_files_stay_with_the_test(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the test and its processes create with ``tempfile`` (a target's work directory, a
    killed service's metrics directory, a port-forward's log) goes to a directory of its own
    under pytest's base temporary directory, which pytest prunes, not to /tmp."""
    directory = str(tmp_path_factory.mktemp("tmp"))
    monkeypatch.setenv("TMPDIR", directory)
    monkeypatch.setattr(tempfile, "tempdir", directory)


@pytest.fixture(scope="session", autouse=True)
def _mark_descendants() -> None:
    """Processes spawned from this test process carry a marker the guard finds them by."""
    leftovers.mark_descendants()


@pytest.fixture(autouse=True)
def _leaves_nothing_behind() -> Iterator[None]:
    """Fail the test if a thread it started or a process it spawned (however far down) is
    still running after it and its fixtures finished, allowing LEFTOVER_GRACE for them to wind
    down. Threads and processes there before the test (the test runner's, session fixtures')
    are not counted. Leftover processes are killed so that they cannot disturb later tests."""
    threads_before = leftovers.threads()
    processes_before = set(leftovers.processes())
    yield
    deadline = time.monotonic() + LEFTOVER_GRACE
    while True:
        threads = sorted(leftovers.threads() - threads_before, key=lambda t: t.name)
        now = leftovers.processes()
        processes = [p for pid, p in sorted(now.items()) if pid not in processes_before]
        if (not threads and not processes) or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    leftovers.kill(processes)
    if threads or processes:
        found = [leftovers.describe_thread(t) for t in threads] + [str(p) for p in processes]
        pytest.fail(f"left behind after {LEFTOVER_GRACE} s: " + "; ".join(found), pytrace=False)


def _postgres_admin() -> psycopg.Connection:
    url = make_url(POSTGRES_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        dbname=url.database,
        password=url.password,
        autocommit=True,
        connect_timeout=3,
    )


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test process, dropped at the end."""
    try:
        admin = _postgres_admin()
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {str(exc).splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
        pytest.skip(reason)
    name = f"taskora_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _empty_postgres(url: str) -> None:
    engine = create_engine(normalise_url(url))
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'taskora.db'}"
        upgrade(url)
        return url
    url = request.getfixturevalue("postgres_server_url")
    _empty_postgres(url)
    return url


@pytest.fixture(scope="session")
def prometheus_server() -> str:
    """Debian's prometheus binary: skipped where absent, required in CI."""
    binary = shutil.which("prometheus")
    if binary is None:
        reason = "no prometheus server (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the Prometheus tests)")
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server for tests marked ``redis``: skipped where absent, required in CI."""
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1) as r:
            r.ping()
    except redis.RedisError as exc:
        reason = f"Redis not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the Redis tests)")
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(env="test", database_url=database_url, access_log=False, background=False)


@pytest.fixture
def client(request: pytest.FixtureRequest, settings: Settings) -> Iterator[TestClient]:
    """The app in a TestClient whose event loop never runs a database statement (nor, in the
    API suite, a slow callback: tests/loop_watch.py)."""
    with watched_client(create_app(settings), debug=debug_for(request.path)) as test_client:
        yield test_client


@pytest.fixture
def auth(settings: Settings) -> Callable[[str], dict[str, str]]:
    """Headers that authenticate as the given user."""

    def headers(user: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings, user)}"}

    return headers


def drain(client: TestClient) -> int:
    """Run the relay until the outbox is empty; returns how many events it dispatched."""
    relay = client.app.state.runtime.relay  # type: ignore[attr-defined]
    total = 0
    while moved := relay.run_once():
        total += moved
    return total


def outbox(client: TestClient) -> list:  # type: ignore[type-arg]
    from sqlalchemy import select

    from taskora.models import OutboxEvent

    with client.app.state.db.read() as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all())
