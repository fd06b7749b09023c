"""The event contract: every type the service emits carries exactly its payload model, the
catalogue in docs/events.md is what the models say, and tag changes are events too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from taskora.domain.catalogue import render
from taskora.domain.jobs import reminder_check
from taskora.domain.payloads import PAYLOADS, payload_of
from taskora.events.types import EventType
from tests.conftest import drain, outbox
from tests.factories import task_body

CATALOGUE = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def test_the_catalogue_is_generated_from_the_models() -> None:
    assert CATALOGUE.read_text(encoding="utf-8") == render(), (
        "docs/events.md is stale: python -m taskora.domain.catalogue > docs/events.md"
    )
    assert set(PAYLOADS) == set(EventType)


def test_every_event_type_is_emitted_with_exactly_its_payload(client, auth) -> None:
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    body = task_body(
        tags=["home"],
        remind_at=past,
        due_at="2027-01-31T09:00:00Z",
        recurrence="FREQ=MONTHLY;COUNT=3",
    )
    task = client.post("/api/tasks", json=body, headers=auth()).json()
    client.patch(f"/api/tasks/{task['id']}", json={"title": "renamed"}, headers=auth())
    client.post(f"/api/tasks/{task['id']}/complete", headers=auth())
    drain(client)  # the next occurrence
    client.post(f"/api/tasks/{task['id']}/reopen", headers=auth())
    client.patch("/api/tags/home", json={"name": "house"}, headers=auth())
    reminder_check(client.app.state.db, now=datetime.now(UTC))
    drain(client)  # the notification
    client.delete("/api/tags/house", headers=auth())
    client.delete(f"/api/tasks/{task['id']}", headers=auth())
    rows = outbox(client)
    assert {row.type for row in rows} == set(EventType)
    for row in rows:
        data = json.loads(row.data)
        assert payload_of(row.type, data).model_dump(mode="json") == data, row.type


def test_a_tag_rename_and_delete_name_the_tasks_they_changed(client, auth) -> None:
    ids = [
        client.post("/api/tasks", json=task_body(tags=["work"]), headers=auth()).json()["id"]
        for _ in range(2)
    ]
    client.post("/api/tasks", json=task_body(tags=["other"]), headers=auth())
    assert client.patch("/api/tags/work", json={"color": "#123456"}, headers=auth()).is_success
    assert client.patch("/api/tags/work", json={"name": "job"}, headers=auth()).is_success
    assert client.delete("/api/tags/job", headers=auth()).status_code == 204
    tag_events = [
        (row.type, json.loads(row.data)) for row in outbox(client) if row.type.startswith("tag.")
    ]
    assert tag_events == [  # a colour alone changes no task: no event
        ("tag.renamed", {"old_name": "work", "new_name": "job", "task_ids": sorted(ids)}),
        ("tag.deleted", {"name": "job", "task_ids": sorted(ids)}),
    ]
    drain(client)
    audit = client.get("/api/audit", params={"type": "tag.deleted"}, headers=auth()).json()
    assert [entry["after"]["task_ids"] for entry in audit["items"]] == [sorted(ids)]
