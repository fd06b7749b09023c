"""SQLite reads: a block of one statement runs in no transaction; a snapshot read does; reads
have their own threads, which no waiting write holds up."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from taskora.db import Database, UTCDateTime


def _in_transaction(connection: object) -> bool:
    return bool(connection.connection.dbapi_connection.in_transaction)  # type: ignore[attr-defined]


def test_a_read_of_one_statement_holds_no_transaction(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'reads.db'}")
    try:
        with database.statement() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
            assert not _in_transaction(connection)
        with database.read() as session:  # a snapshot for the whole block
            session.execute(text("SELECT 1"))
            assert _in_transaction(session.connection())
    finally:
        database.dispose()


def test_stored_moments_read_back_aware_in_utc(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'moments.db'}")
    try:
        with database.statement() as connection:
            moment = connection.execute(
                text("SELECT '2026-03-28 23:30:00.250000' AS at").columns(at=UTCDateTime())
            ).scalar_one()
    finally:
        database.dispose()
    assert moment == datetime(2026, 3, 28, 23, 30, 0, 250000, tzinfo=UTC)
    assert moment.tzinfo is UTC


def test_reads_go_on_while_every_request_thread_waits(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'threads.db'}", threads=1, read_threads=1)
    release = threading.Event()

    async def scenario() -> tuple[str, str, bool]:
        waiting = asyncio.ensure_future(database.run(release.wait, 10))  # the one request thread
        statement = await database.run_statement(
            lambda connection: (
                threading.current_thread().name,
                connection.execute(text("SELECT 1")),
            )
        )
        read = await database.run_read(lambda _session: threading.current_thread().name)
        release.set()
        return statement[0], read, await waiting

    try:
        statement_thread, read_thread, released = asyncio.run(scenario())
    finally:
        release.set()
        database.dispose()
    assert statement_thread.startswith("taskora-read") and read_thread.startswith("taskora-read")
    assert released
