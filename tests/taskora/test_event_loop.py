"""Nothing blocks the event loop: while a request waits on the database (SQLite's write lock
held by another process, a PostgreSQL row lock, every pooled connection checked out), the same
worker still answers ``/health`` at once. Each test runs a real ``taskora serve`` worker. And the
watch the API suite runs under (tests/loop_watch.py) fails what it is there to catch."""

from __future__ import annotations

import gc
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import Request
from sqlalchemy import text
from sqlalchemy.engine import make_url

from taskora.app import create_app
from taskora.settings import Settings
from tests.factories import task_body
from tests.loop_watch import (
    API_SUITE,
    DEBUG,
    SlowCallbacks,
    StatementsOnTheLoop,
    debug_for,
    watched_client,
)
from tests.process import Server, running

HEALTHY_MS = 100
HOLD_SECONDS = 2.0
HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
"""

pytestmark = pytest.mark.integration


def _health_while_blocked(server: Server, pending: list[Future[httpx.Response]]) -> list[float]:
    """/health latencies (ms) over HOLD_SECONDS; the blocked requests must stay pending.
    This process's collector is paused meanwhile: its full passes (~100 ms over pytest's heap)
    would be counted against the server."""
    latencies = []
    with httpx.Client(base_url=server.base_url, timeout=10) as http, _collector_paused():
        deadline = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < deadline:
            started = time.perf_counter()
            assert http.get("/health").status_code == 200
            latencies.append((time.perf_counter() - started) * 1000)
    assert not any(f.done() for f in pending), "the blocked requests did not wait on the lock"
    return latencies


@contextmanager
def _collector_paused() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def _requests(count: int, send: Callable[[], httpx.Response]) -> Iterator[list[Future]]:
    with ThreadPoolExecutor(count) as pool:
        yield [pool.submit(send) for _ in range(count)]


def _assert_loop_free(latencies: list[float]) -> None:
    """A loop that waited on the database would hold one probe for the whole wait (the 2 s hold
    or more); a free loop answers them all at once. The slowest probe is judged against half the
    hold, so that a machine busy with other work (a scheduler delay of 100 ms or so) is not
    taken for a blocked loop; the typical probe (p95) is judged against ``HEALTHY_MS``."""
    assert len(latencies) >= 10, f"only {len(latencies)} health probes answered in 2 s"
    slowest = max(range(len(latencies)), key=latencies.__getitem__)
    assert latencies[slowest] < HOLD_SECONDS * 1000 / 2, (
        f"/health took {latencies[slowest]:.0f} ms while blocked "
        f"(probe {slowest + 1} of {len(latencies)}): the event loop waited on the database"
    )
    p95 = statistics.quantiles(latencies, n=20)[-1]
    assert p95 < HEALTHY_MS, f"/health p95 {p95:.0f} ms while blocked ({len(latencies)} probes)"


def test_health_answers_while_another_process_holds_the_sqlite_write_lock(
    tmp_path: Path,
) -> None:
    database = tmp_path / "taskora.db"
    with running(f"sqlite:///{database}", tmp_path / "server.log", workers=1) as server:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, f"{database}-writelock"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "held"
            headers = server.headers("alice")
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
                with _requests(3, lambda: http.post("/api/tasks", json=task_body())) as writes:
                    latencies = _health_while_blocked(server, writes)
                    holder.stdin.write("release\n")
                    holder.stdin.flush()
                    assert [w.result(timeout=30).status_code for w in writes] == [201] * 3
        finally:
            holder.stdin.close()
            holder.wait(timeout=10)
            holder.stdout.close()
    _assert_loop_free(latencies)


@contextmanager
def _row_locked(database_url: str, task_id: int) -> Iterator[Callable[[], None]]:
    """Holds ``FOR UPDATE`` on one task until the yielded function (or the block's end)."""
    url = make_url(database_url)
    connection = psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, dbname=url.database
    )
    with connection:
        connection.execute("SELECT id FROM tasks WHERE id = %s FOR UPDATE", (task_id,))
        yield connection.rollback


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("pool", "writers"),
    [
        pytest.param({}, 2, id="a-row-lock-blocks-a-write"),
        pytest.param(
            {"TASKORA_DATABASE_POOL_SIZE": "2", "TASKORA_THREADS": "4"},
            6,
            id="every-pooled-connection-is-checked-out",
        ),
    ],
)
def test_health_answers_while_postgres_makes_writes_wait(
    postgres_server_url: str, tmp_path: Path, pool: dict[str, str], writers: int
) -> None:
    from tests.conftest import _empty_postgres

    _empty_postgres(postgres_server_url)
    log = tmp_path / "server.log"
    with running(postgres_server_url, log, workers=1, env=pool) as server:
        headers = server.headers("alice")
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
            task_id = http.post("/api/tasks", json=task_body()).json()["id"]
            with _row_locked(postgres_server_url, task_id) as release:

                def rename() -> httpx.Response:
                    return http.patch(f"/api/tasks/{task_id}", json={"title": "renamed"})

                with _requests(writers, rename) as writes:
                    latencies = _health_while_blocked(server, writes)
                    release()
                    assert [w.result(timeout=30).status_code for w in writes] == [200] * writers
    _assert_loop_free(latencies)


async def _spin() -> dict[str, str]:
    """A route that keeps the loop's thread busy for 300 ms of CPU."""
    end = time.thread_time() + 0.3
    while time.thread_time() < end:
        pass
    return {"spun": "300 ms"}


async def _statement_on_the_loop(request: Request) -> dict[str, int]:
    """A route that runs a database statement on the event loop (the bug the watch catches)."""
    with request.app.state.db.read() as session:
        return {"one": session.execute(text("SELECT 1")).scalar_one()}


def test_the_watch_fails_a_callback_that_spends_200_ms_of_cpu_on_the_loop(
    settings: Settings,
) -> None:
    app = create_app(settings)
    app.add_api_route("/spin", _spin)
    with pytest.raises(SlowCallbacks, match=r"ran \d+ ms of CPU on the loop"):
        with watched_client(app, debug=True) as client:
            assert client.get("/spin").status_code == 200
    for debug in (False, True):  # the next clients start clean
        with watched_client(create_app(settings), debug=debug) as client:
            assert client.get("/health").status_code == 200


def test_the_watch_fails_a_database_statement_on_the_loop(settings: Settings) -> None:
    app = create_app(settings)
    app.add_api_route("/on-loop", _statement_on_the_loop)
    with pytest.raises(StatementsOnTheLoop, match="SELECT 1"):
        with watched_client(app, debug=False) as client:
            assert client.get("/on-loop").json() == {"one": 1}


def test_the_api_suite_runs_its_loops_in_asyncio_debug_mode() -> None:
    """The ``client`` of every API module runs the watch in debug mode (a renamed module would
    silently leave it); other modules only with TASKORA_TEST_ASYNCIO_DEBUG=1."""
    here = Path(__file__).parent
    assert API_SUITE and all((here / name).is_file() for name in API_SUITE)
    assert all(debug_for(here / name) for name in API_SUITE)
    assert debug_for(Path(__file__)) is DEBUG
