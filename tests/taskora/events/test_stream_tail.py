"""The stream tail of one process, driven by hand: it follows the whole log, hands each user's
events to that user's subscribers in log order, reads whole only the events someone here
subscribed to, and never skips an event that commits late (PostgreSQL allocates ids before
commit)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from taskora.db import Database
from taskora.domain.payloads import TagDeleted
from taskora.events import outbox
from taskora.events.stream import EventStream, Subscriber
from taskora.events.types import EventType

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _emit(session: Session, user_id: str, n: int) -> None:
    outbox.emit(
        session=session,
        type=EventType.TAG_DELETED,
        user_id=user_id,
        subject=f"tags/{n}",
        data=TagDeleted(name=f"t{n}", task_ids=[n]),
        actor=user_id,
        now=NOW,
    )


def _received(subscriber: Subscriber) -> list[int]:
    events = []
    while not subscriber.queue.empty():
        event = subscriber.queue.get_nowait()
        assert event is not None
        events.append(event.data["task_ids"][0])
    return events


async def _poll(stream: EventStream) -> int:
    handed = stream.poll_once()
    await asyncio.sleep(0)  # the events are offered on the subscriber's loop: let them land
    return handed


def test_the_tail_hands_each_user_only_their_events_in_log_order(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = EventStream(db)
    stream.start_at_end()
    read_whole: list[list[int]] = []
    real_read_ids = outbox.read_ids

    def counting_read_ids(*, session: Session, ids: list[int]) -> list:  # type: ignore[type-arg]
        read_whole.append(list(ids))
        return real_read_ids(session=session, ids=ids)

    monkeypatch.setattr("taskora.events.stream.read_ids", counting_read_ids)

    async def scenario() -> None:
        alice = stream.subscribe("alice")
        for n in range(6):
            with db.write() as session:
                _emit(session, "alice" if n % 3 == 0 else "bob", n)
        assert await _poll(stream) == 6
        assert _received(alice) == [0, 3]
        # Bob's four events moved the position but were never read whole.
        assert [len(ids) for ids in read_whole] == [2]
        assert await _poll(stream) == 0
        stream.unsubscribe(alice)

    asyncio.run(scenario())
    with db.read() as session:
        assert stream.position == outbox.last_position(session=session)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_event_that_commits_late_holds_the_tail_until_it_commits(db: Database) -> None:
    stream = EventStream(db, gap_timeout=60)
    stream.start_at_end()

    async def scenario() -> None:
        alice = stream.subscribe("alice")
        with db.write() as early:  # takes its id first, commits last
            _emit(early, "alice", 1)
            with db.write() as late:
                _emit(late, "alice", 2)
            assert await _poll(stream) == 0  # event 2 is visible, event 1 not yet
            assert _received(alice) == []
        assert await _poll(stream) == 2
        assert _received(alice) == [1, 2]
        stream.unsubscribe(alice)

    asyncio.run(scenario())
