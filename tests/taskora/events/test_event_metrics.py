"""The backbone's metrics: published, consumed, duplicates, dead letters, outbox lag."""

from __future__ import annotations

import re

from taskora.db import utcnow
from taskora.domain.consumers import build_consumers
from taskora.domain.jobs import measure_outbox_lag
from taskora.events.delivery import deliver
from taskora.events.envelope import TASK_EVENTS, to_cloudevent
from tests.conftest import drain, outbox
from tests.factories import task_body


def _value(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def test_counters_move_with_the_events(client, auth) -> None:
    before = client.get("/metrics").text
    client.post("/api/tasks", json=task_body(), headers=auth())
    assert measure_outbox_lag(client.app.state.db) >= 0.0
    drain(client)
    audit = next(c for c in build_consumers() if c.name == "audit")
    deliver(client.app.state.db, audit, to_cloudevent(outbox(client)[0]), TASK_EVENTS, utcnow())
    assert measure_outbox_lag(client.app.state.db) == 0.0  # drained: nothing waits
    after = client.get("/metrics").text

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("taskora_events_published_total", type="task.created") == 1
    assert moved("taskora_events_consumed_total", consumer="audit", type="task.created") == 1
    assert moved("taskora_events_duplicates_skipped_total", consumer="audit") == 1
    # The whole line: the lag measured before the drain (any 0.0... value) must not pass.
    assert re.search(r"^taskora_outbox_lag_seconds 0\.0$", after, re.MULTILINE), after
    assert "taskora_sse_connections" in after
