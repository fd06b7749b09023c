"""Group commit: the write blocks of many threads in one SQLite transaction.

SQLite admits one writer at a time, so every write of every process queues on the file's
``WriteGate``. Taken once per write, the gate, ``BEGIN IMMEDIATE`` and the commit cost more
than most writes themselves, and under load every waiting thread paid them in turn. Here the
first thread to write becomes a batch's leader: it takes the gate, begins one transaction and
runs its block; threads that arrive meanwhile queue in the batch, and the leader serves them one
at a time before it commits once for all.

A write given as a function (``run``, as every request's write is) is run by the leader itself,
in its caller's context variables. A write given as a ``with`` block (``block``) runs in its own
thread, which the leader hands the transaction to and waits for: two thread switches per write,
made while every other writer waits on the lock. Under wrk creates on two cores, running the
functions in the leader served a fifth more of them.

Each write keeps its own meaning: it runs in its own ``Session`` inside a SAVEPOINT, so a write
that raises (or rolls its session back) undoes only its own work and gets its own exception,
while the others' work commits. A write returns only after the batch committed; when the commit
fails, every write of the batch raises that error, and none of them was acknowledged."""

from __future__ import annotations

import contextvars
import copy
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlmodel import Session

__all__ = ["GroupCommit", "NestedWrite"]

T = TypeVar("T")
F = TypeVar("F", "_Turn", "_Job")

# A batch takes at most this many writes: the last of them waits for all before it.
MAX_BATCH = 64


class NestedWrite(RuntimeError):
    """A write block opened inside another of the same thread (it would wait for itself)."""


class _Signal:
    """A one-shot wake-up for one waiting thread: a lock taken at birth, released by ``set``
    (a C-level lock: a ``threading.Event`` costs a Python condition per wake-up)."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        self._lock.release()

    def wait(self) -> None:
        self._lock.acquire()


@dataclass(eq=False)
class _Turn:
    """A follower block's place in a batch: woken when the transaction is its to use (``go``), it
    says when its block is done (``finished``) and is woken again after the commit."""

    go: _Signal = field(default_factory=_Signal)
    finished: _Signal = field(default_factory=_Signal)
    committed: _Signal = field(default_factory=_Signal)


@dataclass(eq=False)
class _Job:
    """A follower's work (``run``), for the batch's leader to run in the follower's context;
    the follower is woken once the batch committed."""

    work: Callable[[Session], Any]
    context: contextvars.Context
    committed: _Signal = field(default_factory=_Signal)
    result: Any = None
    error: BaseException | None = None


@dataclass(eq=False)
class _Batch:
    turns: list[_Turn | _Job] = field(default_factory=list)  # every follower, in arrival order
    served: int = 0  # how many of them were handed the transaction
    connection: Connection | None = None
    error: BaseException | None = None

    @property
    def size(self) -> int:
        return 1 + len(self.turns)

    def raise_failure(self) -> None:
        """The batch's error, if it failed, raised in one more thread (a copy of its own)."""
        if self.error is not None:
            raise _copy(self.error) from self.error


class GroupCommit:
    """Write blocks of this process's threads, batched into shared transactions."""

    def __init__(
        self,
        engine: Engine,
        gate: Callable[[], AbstractContextManager[None]],
        on_batch: Callable[[int], None] = lambda size: None,
    ) -> None:
        self._engine = engine  # its connections begin with BEGIN IMMEDIATE
        self._gate = gate  # the file's write lock, shared with the other processes
        self._on_batch = on_batch
        self._lock = threading.Lock()
        self._open: _Batch | None = None  # the batch that still takes followers
        self._local = threading.local()

    @contextmanager
    def block(self) -> Iterator[Session]:
        """A session whose work commits, with the batch's, when the block ends."""
        batch, turn = self._join(_Turn)
        if turn is None:
            yield from self._lead(batch)
        else:
            yield from self._follow(batch, turn)

    def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)``, committed with a batch; its result once the batch committed.
        Run by the batch's leader: this thread, or the one that opened the batch it joins."""
        batch, job = self._join(lambda: _Job(work, contextvars.copy_context()))
        if job is None:
            with contextmanager(self._lead)(batch) as session:
                return work(session)
        job.committed.wait()
        if job.error is not None:
            raise job.error
        batch.raise_failure()
        return job.result

    def _join(self, follower: Callable[[], F]) -> tuple[_Batch, F | None]:
        """Join the open batch as a new ``follower()``, or open a batch to lead (None)."""
        if getattr(self._local, "inside", False):
            raise NestedWrite("a write block cannot open another write block")
        with self._lock:
            batch = self._open
            if batch is not None and batch.size < MAX_BATCH:
                joined = follower()
                batch.turns.append(joined)
                return batch, joined
            self._open = _Batch()
            return self._open, None

    def _lead(self, batch: _Batch) -> Iterator[Session]:
        own_error: BaseException | None = None
        self._local.inside = True  # this thread runs the batch's writes: one opened here nests
        try:
            with self._gate(), self._engine.connect() as connection:
                transaction = connection.begin()
                batch.connection = connection
                try:
                    with _savepoint(connection) as session:
                        yield session
                except BaseException as exc:  # undone by its savepoint; the others go on
                    own_error = exc
                for turn in self._turns(batch):
                    if isinstance(turn, _Job):
                        _run_job(connection, turn)
                        continue
                    turn.go.set()
                    turn.finished.wait()
                try:
                    transaction.commit()
                except BaseException:
                    # SQLite keeps the transaction open after a failed COMMIT (a deferred key,
                    # a full disk) while the pool takes it for ended: close the connection.
                    connection.invalidate()
                    raise
        except BaseException as exc:
            batch.error = exc
            self._close(batch)
            for turn in batch.turns[batch.served :]:  # the followers not handed the transaction
                if isinstance(turn, _Turn):
                    turn.go.set()
            raise
        finally:
            self._local.inside = False
            for turn in batch.turns:
                turn.committed.set()
        self._on_batch(batch.size)
        if own_error is not None:
            raise own_error

    def _follow(self, batch: _Batch, turn: _Turn) -> Iterator[Session]:
        turn.go.wait()
        self._local.inside = True
        try:
            batch.raise_failure()
            if batch.connection is None:
                raise RuntimeError("the batch's transaction did not begin")
            with _savepoint(batch.connection) as session:
                yield session
        finally:
            self._local.inside = False
            turn.finished.set()
        turn.committed.wait()
        batch.raise_failure()

    def _turns(self, batch: _Batch) -> Iterator[_Turn | _Job]:
        """The followers in arrival order; the batch closes when none is left."""
        while True:
            with self._lock:
                if batch.served == len(batch.turns):
                    self._close_locked(batch)
                    return
                turn = batch.turns[batch.served]
                batch.served += 1
            yield turn

    def _close(self, batch: _Batch) -> None:
        with self._lock:
            self._close_locked(batch)

    def _close_locked(self, batch: _Batch) -> None:
        if self._open is batch:
            self._open = None


def _run_job(connection: Connection, job: _Job) -> None:
    """A follower's work, by the leader, in the follower's context and a savepoint of its own."""
    leaders = sys.exc_info()[1]  # the leader may be handling an error of its own meanwhile
    try:
        with _savepoint(connection) as session:
            job.result = job.context.run(job.work, session)
    except BaseException as exc:  # undone by its savepoint; raised in the job's own thread
        job.error = _unchained(exc, leaders)


def _unchained(error: BaseException, foreign: BaseException | None) -> BaseException:
    """``error`` without ``foreign`` as its context: Python chains an error raised while another
    is handled to that one, and the leader's error (its own write's, or the one its caller was
    handling when it opened the block) is no part of a follower's, nor for its logs to show."""
    link: BaseException | None = error
    while foreign is not None and link is not None:
        if link.__context__ is foreign:
            link.__context__ = None
            break
        link = link.__context__
    return error


@contextmanager
def _savepoint(connection: Connection) -> Iterator[Session]:
    """A session of its own inside the batch's transaction: its commit releases a SAVEPOINT,
    its rollback (or an exception) returns to it."""
    with (
        Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session,
        session.begin(),
    ):
        yield session


def _copy(error: BaseException) -> BaseException:
    """The batch's error for one more thread to raise (one exception object, raised in many
    threads at once, would have its traceback rewritten under the others)."""
    try:
        return copy.copy(error)
    except Exception:  # an exception type that cannot be copied: the original will do
        return error
