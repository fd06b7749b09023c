"""Database engines and transactions.

SQLite (the default) is opened in WAL mode with foreign keys on and a busy timeout. Writes
begin with ``BEGIN IMMEDIATE`` so that two writers queue on the lock instead of failing when
one upgrades a read snapshot, and writers of a database file queue on a ``WriteGate`` first;
reads begin a plain deferred transaction and never block writers. The write blocks of one
process that queue meanwhile share one transaction and one commit (``taskora.group_commit``).
PostgreSQL URLs are served by psycopg 3.
"""

from __future__ import annotations

import asyncio
import contextvars
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any, TypeVar

from sqlalchemy import Connection, DateTime, Engine, Executable, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from taskora.doorbell import Doorbell
from taskora.group_commit import GroupCommit
from taskora.metrics import WRITE_BATCH

__all__ = [
    "Database",
    "UTCDateTime",
    "WriteGate",
    "insert_ignoring_conflicts",
    "inserted",
    "normalise_url",
    "notify_after_commit",
    "utcnow",
]

SQLITE_BUSY_TIMEOUT_MS = 10_000
PG_CONNECT_TIMEOUT_S = 5
# A request waits at most this long for a connection (its thread waits, never the event loop);
# past it the request is a 503 with Retry-After.
POOL_TIMEOUT_S = 10
# A PostgreSQL connection unused for longer than this is pinged before it is handed out.
PING_IDLE_S = 1.0


_NOTIFY_AFTER_COMMIT = "taskora.notify_after_commit"
T = TypeVar("T")
H = TypeVar("H")  # what a block opens: a Session or a Connection


def notify_after_commit(handle: Session | Connection, channel: str) -> None:
    """PostgreSQL: ``NOTIFY channel`` once this write block (a ``write`` session or a
    ``write_statement`` connection) has committed (``taskora.doorbell``). ``channel`` is one of
    the code's own names, never input."""
    handle.info.setdefault(_NOTIFY_AFTER_COMMIT, set()).add(channel)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_utc(value: str | None) -> datetime | None:
    # Parsed with its offset, not given one after: ``replace(tzinfo=...)`` costs six times the
    # parse, and a page of tasks holds a hundred of these.
    return None if value is None else datetime.fromisoformat(value + "+00:00")


def _postgres_utc(value: datetime | None) -> datetime | None:
    # Sessions run in UTC (``_configure_postgres``): psycopg then hands out datetimes in UTC
    # already, and converting them cost more than the rest of reading a row.
    if value is None or value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (naive UTC text on SQLite, timestamptz elsewhere)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: attach a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":  # naive UTC ISO text: one C call instead of a regex and a hop
            return _sqlite_utc
        if dialect.name == "postgresql":
            return _postgres_utc
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """Pick psycopg 3 for PostgreSQL URLs that name no driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine, *, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (the documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:  # None: each statement is its own transaction (autocommit)
            connection.exec_driver_sql(f"BEGIN {mode}")


def _configure_postgres(engine: Engine) -> None:
    """Each session in UTC, so timestamps arrive with the UTC time zone ``_postgres_utc`` keeps
    as is. A connection pooler that drops session settings costs speed only: values in another
    time zone are converted."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection that sat idle before handing it out (it may predate a database
    restart); a busy one is handed out as is, sparing every request a round trip.

    SQLAlchemy's pessimistic recipe (a ``checkout`` listener raising ``DisconnectionError``, on
    which the pool opens a fresh connection), limited to idle connections: under load the first
    request that meets a dead connection fails, and the pool then renews every connection
    older than that failure.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_IDLE_S:
            return
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:  # any failure: the pool replaces this connection
            raise DisconnectionError(f"idle connection failed its ping: {exc}") from exc


class WriteGate:
    """Serialises SQLite write transactions of every thread and process on one database file.

    SQLite lets one writer in at a time and makes the others poll with growing sleeps (up to
    100 ms each); under load that polling, not the work, made writes slow. Here writers queue on
    an advisory lock (``flock``) of a file beside the database instead, and the next one is woken
    the moment the lock is free. Re-entrant within a thread.
    """

    def __init__(self, database_path: str) -> None:
        self.path = f"{database_path}-writelock"
        self._fd: int | None = None  # opened at the first write, beside the database file
        self._threads = threading.RLock()  # flock is per open file: threads queue here first
        self._depth = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            if self._fd is None:
                try:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                except OSError:  # no such directory: the database will say so itself
                    yield
                    return
            if self._depth == 0:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class Database:
    """One engine and the two kinds of transaction the service uses."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "NORMAL",
        pool_size: int = 8,
        threads: int = 16,
        read_threads: int = 2,
    ) -> None:
        self.url = normalise_url(url)
        # Started by the first ``run``: the request threads, and the hot reads' own few.
        self._threads = _Threads("taskora-db", threads)
        self._read_threads = _Threads("taskora-read", read_threads)
        self.is_sqlite = self.url.startswith("sqlite")
        pooled = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": POOL_TIMEOUT_S}
        if self.is_sqlite:
            in_memory = make_url(self.url).database in (None, "", ":memory:")
            # An in-memory database lives in one connection: share it (tests, experiments).
            pool: dict[str, Any] = {"poolclass": StaticPool} if in_memory else pooled
            self.engine = create_engine(self.url, **pool)
            _configure_sqlite(self.engine, synchronous=sqlite_synchronous)
            path = make_url(self.url).database
            self._gate: WriteGate | None = None if in_memory or not path else WriteGate(path)
            self._write_engine: Engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
            self._batches = (
                None
                if self._gate is None
                else GroupCommit(self._write_engine, self._gate.held, WRITE_BATCH.observe)
            )
        else:
            self.engine = create_engine(
                self.url, **pooled, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S}
            )
            _configure_postgres(self.engine)
            _ping_idle_connections(self.engine)
            self._write_engine = self.engine
            self._gate = None
            self._batches = None
        self._doorbell = None if self.is_sqlite else Doorbell(self.engine)
        # Autocommit: a statement is its own snapshot, with no BEGIN and no COMMIT or ROLLBACK
        # (round trips on PostgreSQL, a third of a hot read's database calls on SQLite).
        self._statement_engine = (
            self.engine.execution_options(sqlite_begin=None)
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @contextmanager
    def read(self, *, snapshot: bool = True) -> Iterator[Session]:
        """A transaction for reads: one consistent snapshot for the whole block.

        ``snapshot=False`` is for a block of one statement (the hot reads): it runs without a
        transaction around it; each statement of such a block would see its own snapshot.
        """
        engine = self.engine if snapshot else self._statement_engine
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """A connection for a block of one statement (the hot reads): no ORM session and no
        transaction around it."""
        with self._statement_engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on any error.

        On an SQLite file the block joins the process's current batch of writes (see
        ``taskora.group_commit``): committed with it when the block ends, its own work rolled
        back alone on an error.
        """
        if self._batches is not None:
            with self._batches.block() as session:
                yield session
            return
        with Session(self._write_engine, expire_on_commit=False) as session:
            with session.begin():
                yield session
            channels = session.info.pop(_NOTIFY_AFTER_COMMIT, None)
        self._ring(channels)

    @contextmanager
    def write_statement(self) -> Iterator[Connection]:
        """PostgreSQL: a connection for a write made of one statement, which is its own
        transaction. With no BEGIN and COMMIT around it, a create is one round trip instead of
        five (``taskora.domain.task_insert``). SQLite writes queue on the write gate: they have
        ``write`` only."""
        if self.is_sqlite:
            raise RuntimeError("SQLite writes go through Database.write (the write gate)")
        with self._statement_engine.connect() as connection:
            try:
                yield connection
            finally:  # the connection's info outlives this checkout: take the channels out
                channels = connection.info.pop(_NOTIFY_AFTER_COMMIT, None)
        self._ring(channels)

    def _ring(self, channels: set[str] | None) -> None:
        """The NOTIFYs a committed write block asked for (``notify_after_commit``)."""
        if channels and self._doorbell is not None:
            self._doorbell.ring(channels)

    async def run(self, work: Callable[..., T], /, *args: Any) -> T:
        """``work(*args)`` on this database's request threads; the event loop awaits it.

        Request handlers hand their database work over here rather than being plain functions
        that FastAPI runs through anyio's threads: under concurrent requests that hop cost four
        times as much CPU as asyncio's executor (100-120 us against 25-50 us a request).
        The work sees the request's context variables (its request id in the logs).
        """
        return await self._threads.run(work, *args)

    async def run_read(self, work: Callable[[Session], T], *, snapshot: bool = True) -> T:
        """``work(session)`` in a ``read`` block, on the read threads."""
        return await self._read_threads.run(_within, partial(self.read, snapshot=snapshot), work)

    async def run_statement(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in a ``statement`` block, on the read threads."""
        return await self._read_threads.run(_within, self.statement, work)

    async def run_write(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a ``write`` block, on the request threads. On an SQLite file
        the leader of the batch it joins runs it (``GroupCommit.run``): no thread hand-over."""
        if self._batches is not None:
            return await self.run(self._batches.run, work)
        return await self.run(_within, self.write, work)

    async def run_write_statement(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in a ``write_statement`` block, on the request threads."""
        return await self.run(_within, self.write_statement, work)

    def dispose(self) -> None:
        self._threads.shutdown()
        self._read_threads.shutdown()
        if self._doorbell is not None:
            self._doorbell.close()
        self.engine.dispose()
        if self._gate is not None:
            self._gate.close()
            self._gate = None


class _Threads:
    """A bounded pool of threads, started by its first work, that the event loop hands work to.

    Reads have their own few (``read_threads``): they never wait on a lock (SQLite's WAL readers
    do not wait for its writer; PostgreSQL's do not wait for row locks), and each more runnable
    thread is one more contender for the GIL with the event loop. With 16 threads a page of 20
    tasks cost twice the CPU it costs alone; with 2, wrk served 15 % more lists and half again
    as many single tasks. Writes, which may wait (the write lock, a row lock), keep many.
    """

    def __init__(self, name: str, count: int) -> None:
        self.name, self.count = name, count
        self._executor: ThreadPoolExecutor | None = None
        self._starting = threading.Lock()  # one pool, if event loops of two threads start it

    async def run(self, work: Callable[..., T], /, *args: Any) -> T:
        if self._executor is None:
            with self._starting:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(self.count, thread_name_prefix=self.name)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, context.run, work, *args)

    def shutdown(self) -> None:
        with self._starting:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


def _within(block: Callable[[], AbstractContextManager[H]], work: Callable[[H], T]) -> T:
    """``work`` given what ``block`` opens (a session or a connection), inside it."""
    with block() as handle:
        return work(handle)


def insert_ignoring_conflicts(
    session: Session, model: type[SQLModel], rows: list[dict[str, Any]]
) -> int:
    """INSERT ... ON CONFLICT DO NOTHING; returns how many rows were new."""
    table = model.__table__  # type: ignore[attr-defined]
    return len(inserted(session, model, rows, next(iter(table.primary_key.columns)).key))


def inserted(
    session: Session, model: type[SQLModel], rows: list[dict[str, Any]], returning: str
) -> list[Any]:
    """INSERT ... ON CONFLICT DO NOTHING; the ``returning`` column of the rows that were new.

    One statement per table, built and compiled once (rows are bound parameters; several are
    sent as one multi-row INSERT by SQLAlchemy's "insertmanyvalues"), where building it from the
    rows' values compiled it anew each time. Counted with RETURNING: psycopg reports no rowcount
    (-1) for this statement.
    """
    if not rows:
        return []
    statement = _insert_ignoring(model, session.get_bind().dialect.name, returning)
    return list(session.execute(statement, rows[0] if len(rows) == 1 else rows).scalars())


@cache
def _insert_ignoring(model: type[SQLModel], dialect_name: str, returning: str) -> Executable:
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    table = model.__table__  # type: ignore[attr-defined]
    return dialect.insert(table).on_conflict_do_nothing().returning(table.columns[returning])
