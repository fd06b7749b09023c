"""The PostgreSQL side of ``Database``: reads of one statement hold no transaction, a pooled
connection the server dropped is replaced (idle: before use; busy: after the first failure), and
a write's NOTIFY goes out after its commit, never for a write rolled back (a transaction or a
write of one statement)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import OperationalError

from taskora import db as db_module
from taskora.db import Database, UTCDateTime, normalise_url, notify_after_commit
from taskora.doorbell import Doorbell
from tests.waiting import wait_until

pytestmark = pytest.mark.postgres


@pytest.fixture
def database(postgres_server_url: str) -> Iterator[Database]:
    database = Database(postgres_server_url, pool_size=1)  # one connection: always the same
    yield database
    database.dispose()


def _backend(database: Database) -> int:
    with database.read() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(postgres_server_url: str, pid: int) -> None:
    """End the server process behind a pooled connection, and wait until it is gone."""
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
        wait_until(lambda: admin.execute(alive, (pid,)).fetchone() == (0,), what="backend gone")


def _status(session: object) -> TransactionStatus:
    raw = session.connection().connection.dbapi_connection  # type: ignore[attr-defined]
    return TransactionStatus(raw.info.transaction_status)


def test_a_read_of_one_statement_holds_no_transaction(database: Database) -> None:
    with database.read(snapshot=False) as session:
        session.execute(text("SELECT 1"))
        assert _status(session) is TransactionStatus.IDLE
    with database.read() as session:
        session.execute(text("SELECT 1"))
        assert _status(session) is TransactionStatus.INTRANS
    with database.write() as session:  # the same connection, back in transactions
        session.execute(text("SELECT 1"))
        assert _status(session) is TransactionStatus.INTRANS


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    database: Database, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(database)
    _terminate(postgres_server_url, first)
    monkeypatch.setattr(db_module, "PING_IDLE_S", 0.0)  # every returned connection counts as idle
    assert _backend(database) != first


def test_a_busy_connection_fails_once_then_the_pool_is_renewed(
    database: Database, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(database)
    _terminate(postgres_server_url, first)
    monkeypatch.setattr(db_module, "PING_IDLE_S", 3600.0)  # never idle: no ping
    with pytest.raises(OperationalError):
        _backend(database)
    assert _backend(database) != first


def _received(listener: psycopg.Connection, seen: list[str]) -> bool:
    seen.extend(n.channel for n in listener.notifies(timeout=0.1, stop_after=1))
    return "committed_channel" in seen


@pytest.mark.parametrize("block", ["write", "write_statement"])
def test_a_write_notifies_after_its_commit_and_a_rolled_back_write_never(
    postgres_server_url: str, block: str
) -> None:
    # One connection: what a failed block asked for must not stay on it for the next one.
    database = Database(postgres_server_url, pool_size=1)
    write = getattr(database, block)
    try:
        with psycopg.connect(postgres_server_url, autocommit=True) as listener:
            listener.execute("LISTEN rolled_back_channel")
            listener.execute("LISTEN committed_channel")
            with pytest.raises(RuntimeError), write() as handle:
                notify_after_commit(handle, "rolled_back_channel")
                raise RuntimeError("the block fails: its transaction is rolled back")
            with write() as handle:
                for _ in range(3):  # one NOTIFY however often a block asks
                    notify_after_commit(handle, "committed_channel")
                handle.execute(text("SELECT 1"))
            seen: list[str] = []
            wait_until(lambda: _received(listener, seen), what="the committed write's NOTIFY")
            # The doorbell sends what was rung in order: the rolled-back one would be in by now.
            assert seen == ["committed_channel"]
    finally:
        database.dispose()


def test_notifies_go_out_at_most_once_per_interval(postgres_server_url: str) -> None:
    engine = create_engine(normalise_url(postgres_server_url))
    bell = Doorbell(engine, min_interval=1.0)
    try:
        with psycopg.connect(postgres_server_url, autocommit=True) as listener:
            for channel in ("first", "second", "third"):
                listener.execute(f"LISTEN {channel}")
            seen: list[str] = []

            def heard(*channels: str) -> bool:
                seen.extend(n.channel for n in listener.notifies(timeout=0.05))
                return set(channels) <= set(seen)

            bell.ring({"first"})  # after a quiet spell: at once
            wait_until(lambda: heard("first"), what="the first NOTIFY")
            first_heard = time.monotonic()
            bell.ring({"second"})
            bell.ring({"third"})  # both wait for the interval, then go out in one round
            wait_until(lambda: heard("second", "third"), what="the NOTIFYs rung meanwhile")
            # Sent a second after the first; heard late by at most our polling and scheduling.
            assert time.monotonic() - first_heard > 0.3
            assert seen == ["first", "second", "third"]
    finally:
        bell.close()
        engine.dispose()


def _moment(connection: Connection, literal: str) -> datetime:
    """A timestamptz literal read back through the models' column type."""
    statement = text("SELECT CAST(:literal AS timestamptz) AS at").columns(at=UTCDateTime())
    return connection.execute(statement, {"literal": literal}).scalar_one()


def test_sessions_run_in_utc_and_timestamps_arrive_aware_in_utc(database: Database) -> None:
    with database.statement() as connection:
        zone = connection.exec_driver_sql("SHOW TIME ZONE").scalar_one()
        moment = _moment(connection, "2026-03-29 01:30:00+02")
    assert zone == "UTC"
    assert moment == datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    assert moment.tzinfo is UTC


def test_a_session_left_in_another_time_zone_still_reads_utc(database: Database) -> None:
    # As behind a connection pooler that drops session settings.
    with database.statement() as connection:
        connection.exec_driver_sql("SET TIME ZONE 'America/New_York'")
        moment = _moment(connection, "2026-07-01 12:00:00+00")
        connection.exec_driver_sql("SET TIME ZONE 'UTC'")
    assert moment == datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert moment.tzinfo is UTC
