"""The PostgreSQL side of ``Database``: reads of one statement hold no transaction, and a pooled
connection the server dropped is replaced (idle: before use; busy: after the first failure)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from taskora import db as db_module
from taskora.db import Database
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
