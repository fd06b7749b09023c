"""A poison event never stops the line (the inline bus; the Redis and Dapr buses are tested
beside their other contracts): among 100 good events from several users, the good ones are
delivered, the poison one is dead-lettered by the consumer it defeats and applied by the others,
and the service keeps answering."""

from __future__ import annotations

import time

import httpx
import pytest

from taskora.db import Database
from taskora.migrate import upgrade
from tests.conftest import drain
from tests.factories import task_body
from tests.poison import (
    GOOD,
    POISON_RULES,
    USERS,
    assert_line_flowed,
    dead_letters,
    plant_poison,
    write_around_poison,
)
from tests.process import running
from tests.waiting import wait_until


@pytest.mark.parametrize("rule", POISON_RULES)
def test_inline_bus_dead_letters_the_poison_and_delivers_the_rest(client, auth, rule) -> None:
    poison = write_around_poison(client, auth, rule)
    assert drain(client) == GOOD + 1
    assert_line_flowed(client, auth, poison)
    assert client.get("/health").status_code == 200


@pytest.mark.integration
def test_a_served_stack_keeps_answering_and_delivering_past_poison_events(tmp_path) -> None:
    """A real ``taskora serve`` (2 workers, SQLite, inline bus) with both poison events waiting
    in its outbox: every good write from three users is audited, /health answers throughout,
    and each poison event ends as one dead letter."""
    url = f"sqlite:///{tmp_path / 'taskora.db'}"
    upgrade(url)
    db = Database(url)
    try:
        poisons = [plant_poison(db, user="mallory", rule=rule) for rule in POISON_RULES]
        with (
            running(url, tmp_path / "server.log") as server,
            httpx.Client(base_url=server.base_url, timeout=10) as http,
        ):
            slowest = 0.0
            for n in range(30):
                headers = server.headers(USERS[n % len(USERS)])
                assert http.post("/api/tasks", json=task_body(), headers=headers).status_code == 201
                started = time.perf_counter()
                assert http.get("/health").status_code == 200
                slowest = max(slowest, time.perf_counter() - started)

            def audited_everywhere() -> bool:
                counts = [
                    len(http.get("/api/audit", headers=server.headers(u)).json()["items"])
                    for u in USERS
                ]
                return counts == [10, 10, 10]

            wait_until(audited_everywhere, 20, "every good write audited")
            wait_until(
                lambda: sorted(dead_letters(db, "recurrence")) == sorted(poisons),
                20,
                "both poison events dead-lettered",
            )
        assert slowest < 1.0, f"/health took {slowest:.2f} s"
    finally:
        db.dispose()
