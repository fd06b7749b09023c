"""Group commit on an SQLite file: writes queued behind the write gate commit in one
transaction, and each keeps its own outcome (its error, its rollback), except a failed commit,
which fails them all. Both ways of writing are covered: a ``with database.write()`` block, run in
its own thread, and a request's ``run_write``, run by the batch's leader."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from taskora.db import Database, WriteGate
from taskora.group_commit import GroupCommit, NestedWrite
from taskora.logs import request_id_var
from tests.waiting import wait_until

Block = Callable[[Session, int], None]
Writer = Callable[[Database, Block, int], None]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with database.write() as session:
        session.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        session.execute(
            text(
                "CREATE TABLE note (id INTEGER PRIMARY KEY, parent_id INTEGER"
                " REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    yield database
    database.dispose()


def _insert(session: Session, number: int) -> None:
    session.execute(text("INSERT INTO note (id) VALUES (:id)"), {"id": number})


def _notes(database: Database) -> list[int]:
    with database.read() as session:
        return list(session.execute(text("SELECT id FROM note ORDER BY id")).scalars())


def in_block(database: Database, block: Block, number: int) -> None:
    with database.write() as session:
        block(session, number)


def as_request(database: Database, block: Block, number: int) -> None:
    """A request handler's write: handed to the request threads by an event loop."""
    request_id_var.set(f"request-{number}")
    asyncio.run(database.run_write(lambda session: block(session, number)))


WRITERS = pytest.mark.parametrize("writer", [in_block, as_request])


def _batches() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("taskora_write_batch_size_count") or 0.0
    return count, REGISTRY.get_sample_value("taskora_write_batch_size_sum") or 0.0


def _batch_of(batches: GroupCommit, size: int) -> Callable[[], bool]:
    return lambda: batches._open is not None and batches._open.size == size


def _queued_behind_the_gate(
    database: Database, blocks: list[Block], writers: list[Writer]
) -> list[BaseException | None]:
    """Run each block in a write of its own thread (by the writer of the same place, the
    writers repeated as needed), all queued while another holder has the file's write gate,
    in order: the first leads the batch. Returns what each write raised (None: it returned,
    committed)."""
    outcomes: list[BaseException | None] = [None] * len(blocks)

    def write(number: int, block: Block) -> None:
        try:
            writers[(number - 1) % len(writers)](database, block, number)
        except BaseException as exc:  # the outcome under test
            outcomes[number - 1] = exc

    other = WriteGate(database.engine.url.database or "")  # flock: another open file conflicts
    threads = [
        threading.Thread(target=write, args=(n, b), name=f"writer-{n}")
        for n, b in enumerate(blocks, start=1)
    ]
    batches = database._batches  # the leader waits on the gate, the others join its batch
    assert batches is not None
    with other.held():
        for queued, thread in enumerate(threads, start=1):
            thread.start()
            wait_until(_batch_of(batches, queued), what=f"{thread.name} queued in the batch")
    other.close()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive(), f"{thread.name} did not finish"
    return outcomes


@WRITERS
def test_writes_queued_behind_the_gate_commit_together(database: Database, writer: Writer) -> None:
    before = _batches()
    outcomes = _queued_behind_the_gate(database, [_insert] * 5, [writer])
    assert outcomes == [None] * 5
    assert _notes(database) == [1, 2, 3, 4, 5]
    count, total = _batches()
    assert (count - before[0], total - before[1]) == (1, 5), "one batch of five writes"


@WRITERS
def test_a_failing_write_undoes_only_its_own_work(database: Database, writer: Writer) -> None:
    def fails(session: Session, number: int) -> None:
        _insert(session, number)
        raise ValueError("refused")

    def rolls_back(session: Session, number: int) -> None:
        _insert(session, number)
        session.rollback()

    outcomes = _queued_behind_the_gate(database, [fails, _insert, rolls_back, _insert], [writer])
    assert isinstance(outcomes[0], ValueError) and str(outcomes[0]) == "refused"
    assert outcomes[1:] == [None, None, None]
    assert _notes(database) == [2, 4]


@WRITERS
def test_a_failed_commit_fails_every_write_of_its_batch(database: Database, writer: Writer) -> None:
    def orphan(session: Session, number: int) -> None:  # the deferred key fails at COMMIT
        session.execute(text("INSERT INTO note (id, parent_id) VALUES (:id, 99)"), {"id": number})

    outcomes = _queued_behind_the_gate(database, [_insert, orphan, _insert], [writer])
    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes), outcomes
    assert _notes(database) == [], "nothing of a failed batch was committed"
    with database.write() as session:  # the next batch starts afresh
        _insert(session, 7)
    assert _notes(database) == [7]


def test_a_write_inside_a_write_is_refused(database: Database) -> None:
    with pytest.raises(NestedWrite), database.write(), database.write():
        pass

    def nested(session: Session) -> None:
        with database.write():
            pass

    with pytest.raises(NestedWrite):
        asyncio.run(database.run_write(nested))
    with database.write() as session:
        _insert(session, 1)
    assert _notes(database) == [1]


@pytest.mark.parametrize(
    "writers",
    [[in_block, as_request], [as_request, in_block]],
    ids=["block_leads", "request_leads"],
)
def test_blocks_and_request_writes_share_a_batch_each_with_its_outcome(
    database: Database, writers: list[Writer]
) -> None:
    def fails(session: Session, number: int) -> None:
        _insert(session, number)
        raise ValueError(f"refused {number}")

    before = _batches()
    blocks: list[Block] = [_insert, _insert, fails, fails, _insert, _insert]
    outcomes = _queued_behind_the_gate(database, blocks, writers)
    assert [str(outcome) if outcome else None for outcome in outcomes] == [
        None,
        None,
        "refused 3",
        "refused 4",
        None,
        None,
    ]
    assert _notes(database) == [1, 2, 5, 6]
    count, total = _batches()
    assert (count - before[0], total - before[1]) == (1, 6), "one batch of six writes"


def test_the_leader_runs_each_request_write_in_that_requests_context(database: Database) -> None:
    ran: dict[int, tuple[str | None, int]] = {}

    def record(session: Session, number: int) -> None:
        _insert(session, number)
        ran[number] = (request_id_var.get(), threading.get_ident())

    outcomes = _queued_behind_the_gate(database, [record] * 4, [as_request])
    assert outcomes == [None] * 4
    assert {number: request for number, (request, _) in ran.items()} == {
        n: f"request-{n}" for n in range(1, 5)
    }, "each write saw its own request's context variables"
    assert len({thread for _, thread in ran.values()}) == 1, "one thread ran the whole batch"


@WRITERS
def test_a_request_write_does_not_carry_the_leaders_error(
    database: Database, writer: Writer
) -> None:
    """The leader serves the others while its own error is being handled; an error of another
    request's write must not be chained to it (its log line would show the leader's)."""

    def leader_fails(session: Session, number: int) -> None:
        raise ValueError("the leader's own error")

    def fails(session: Session, number: int) -> None:
        raise KeyError(number)

    outcomes = _queued_behind_the_gate(database, [leader_fails, fails], [writer, as_request])
    assert isinstance(outcomes[0], ValueError)
    assert isinstance(outcomes[1], KeyError)
    assert outcomes[1].__context__ is None, "chained to the leader's error"


def test_a_write_inside_a_request_write_run_by_the_leader_is_refused(database: Database) -> None:
    def nested(session: Session, number: int) -> None:
        with database.write():
            pass

    outcomes = _queued_behind_the_gate(database, [_insert, nested, _insert], [as_request])
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], NestedWrite)
    assert _notes(database) == [1, 3]
