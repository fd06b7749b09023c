"""A poison event never stops the line (the inline bus; the Redis and Dapr buses are tested
beside their other contracts): among 100 good events from several users, the good ones are
delivered, the poison one is dead-lettered by the consumer it defeats and applied by the others,
and the service keeps answering."""

from __future__ import annotations

import pytest

from tests.conftest import drain
from tests.poison import GOOD, POISON_RULES, assert_line_flowed, write_around_poison


@pytest.mark.parametrize("rule", POISON_RULES)
def test_inline_bus_dead_letters_the_poison_and_delivers_the_rest(client, auth, rule) -> None:
    poison = write_around_poison(client, auth, rule)
    assert drain(client) == GOOD + 1
    assert_line_flowed(client, auth, poison)
    assert client.get("/health").status_code == 200
