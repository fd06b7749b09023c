"""Group commit on an SQLite file: writes queued behind the write gate commit in one
transaction, and each keeps its own outcome (its error, its rollback), except a failed commit,
which fails them all."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from taskora.db import Database, WriteGate
from taskora.group_commit import NestedWrite
from tests.waiting import wait_until

Block = Callable[[Session, int], None]


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


def _batches() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("taskora_write_batch_size_count") or 0.0
    return count, REGISTRY.get_sample_value("taskora_write_batch_size_sum") or 0.0


def _queued_behind_the_gate(database: Database, blocks: list[Block]) -> list[BaseException | None]:
    """Run each block in a write of its own thread, all queued while another holder has the
    file's write gate; returns what each write raised (None: it returned, committed)."""
    outcomes: list[BaseException | None] = [None] * len(blocks)

    def write(number: int, block: Block) -> None:
        try:
            with database.write() as session:
                block(session, number)
        except BaseException as exc:  # the outcome under test
            outcomes[number - 1] = exc

    other = WriteGate(database.engine.url.database or "")  # flock: another open file conflicts
    threads = [
        threading.Thread(target=write, args=(n, b), name=f"writer-{n}")
        for n, b in enumerate(blocks, start=1)
    ]
    with other.held():
        for thread in threads:
            thread.start()
        batches = database._batches  # the leader waits on the gate, the others joined its batch
        assert batches is not None
        wait_until(
            lambda: batches._open is not None and batches._open.size == len(blocks),
            what="every write queued in one batch",
        )
    other.close()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive(), f"{thread.name} did not finish"
    return outcomes


def test_writes_queued_behind_the_gate_commit_together(database: Database) -> None:
    before = _batches()
    outcomes = _queued_behind_the_gate(database, [_insert] * 5)
    assert outcomes == [None] * 5
    assert _notes(database) == [1, 2, 3, 4, 5]
    count, total = _batches()
    assert (count - before[0], total - before[1]) == (1, 5), "one batch of five writes"


def test_a_failing_write_undoes_only_its_own_work(database: Database) -> None:
    def fails(session: Session, number: int) -> None:
        _insert(session, number)
        raise ValueError("refused")

    def rolls_back(session: Session, number: int) -> None:
        _insert(session, number)
        session.rollback()

    outcomes = _queued_behind_the_gate(database, [fails, _insert, rolls_back, _insert])
    assert isinstance(outcomes[0], ValueError) and str(outcomes[0]) == "refused"
    assert outcomes[1:] == [None, None, None]
    assert _notes(database) == [2, 4]


def test_a_failed_commit_fails_every_write_of_its_batch(database: Database) -> None:
    def orphan(session: Session, number: int) -> None:  # the deferred key fails at COMMIT
        session.execute(text("INSERT INTO note (id, parent_id) VALUES (:id, 99)"), {"id": number})

    outcomes = _queued_behind_the_gate(database, [_insert, orphan, _insert])
    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes), outcomes
    assert _notes(database) == [], "nothing of a failed batch was committed"
    with database.write() as session:  # the next batch starts afresh
        _insert(session, 7)
    assert _notes(database) == [7]


def test_a_write_inside_a_write_is_refused(database: Database) -> None:
    with pytest.raises(NestedWrite), database.write(), database.write():
        pass
    with database.write() as session:
        _insert(session, 1)
    assert _notes(database) == [1]
