"""Reminders: one reminder.due per task and reminder time, then a notification."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from taskora.domain.jobs import reminder_check
from tests.conftest import drain, outbox
from tests.factories import task_body


def _past(seconds: int = 5) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def _reminders(client) -> list:
    return [row for row in outbox(client) if row.type == "reminder.due"]


def test_a_due_reminder_becomes_one_event_and_one_notification(client, auth) -> None:
    task = client.post(
        "/api/tasks", json=task_body(title="Call mum", remind_at=_past()), headers=auth()
    ).json()
    client.post(
        "/api/tasks",
        json=task_body(remind_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()),
        headers=auth(),
    )
    db = client.app.state.db
    assert reminder_check(db, now=datetime.now(UTC)) == 1
    assert reminder_check(db, now=datetime.now(UTC)) == 0  # already reminded
    drain(client)
    items = client.get("/api/notifications", headers=auth()).json()["items"]
    assert [(n["kind"], n["task_id"], n["message"]) for n in items] == [
        ("reminder", task["id"], "Reminder: Call mum")
    ]
    assert client.get("/api/notifications/unread-count", headers=auth()).json() == {"unread": 1}
    assert "notification.created" in [row.type for row in outbox(client)]


def test_concurrent_scans_emit_each_reminder_once(client, auth) -> None:
    for i in range(20):
        client.post("/api/tasks", json=task_body(title=f"t{i}", remind_at=_past()), headers=auth())
    db = client.app.state.db
    barrier = threading.Barrier(4)

    def scan(_: int) -> int:
        barrier.wait()
        return reminder_check(db, now=datetime.now(UTC))

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(scan, range(4)))
    assert sum(counts) == 20
    assert len(_reminders(client)) == 20
    assert len({row.subject for row in _reminders(client)}) == 20


def test_a_moved_reminder_fires_again_and_done_tasks_never_fire(client, auth) -> None:
    task = client.post("/api/tasks", json=task_body(remind_at=_past(60)), headers=auth()).json()
    done = client.post(
        "/api/tasks",
        json=task_body(remind_at=(datetime.now(UTC) + timedelta(seconds=1)).isoformat()),
        headers=auth(),
    ).json()
    client.post(f"/api/tasks/{done['id']}/complete", headers=auth())
    db = client.app.state.db
    assert reminder_check(db, now=datetime.now(UTC)) == 1
    client.patch(f"/api/tasks/{task['id']}", json={"remind_at": _past(1)}, headers=auth())
    assert reminder_check(db, now=datetime.now(UTC)) == 1
    due = datetime.fromisoformat(done["remind_at"])
    assert reminder_check(db, now=due + timedelta(seconds=1)) == 0  # its time came; it is done


def test_reminders_off_means_no_notification(client, auth) -> None:
    prefs = client.patch(
        "/api/users/me/preferences", json={"reminders_enabled": False}, headers=auth()
    )
    assert prefs.json() == {"reminders_enabled": False}
    assert client.get("/api/users/me/preferences", headers=auth()).json() == {
        "reminders_enabled": False
    }
    client.post("/api/tasks", json=task_body(remind_at=_past()), headers=auth())
    reminder_check(client.app.state.db, now=datetime.now(UTC))
    drain(client)
    assert client.get("/api/notifications", headers=auth()).json()["items"] == []


def test_notification_endpoints(client, auth) -> None:
    for i in range(3):
        client.post("/api/tasks", json=task_body(title=f"r{i}", remind_at=_past()), headers=auth())
    reminder_check(client.app.state.db, now=datetime.now(UTC))
    drain(client)
    items = client.get("/api/notifications", params={"limit": 2}, headers=auth()).json()
    assert len(items["items"]) == 2 and items["next_cursor"]
    rest = client.get(
        "/api/notifications", params={"cursor": items["next_cursor"]}, headers=auth()
    ).json()
    assert len(rest["items"]) == 1
    first = items["items"][0]["id"]
    read = client.post(f"/api/notifications/{first}/read", headers=auth()).json()
    assert read["read_at"] is not None
    assert client.get("/api/notifications/unread-count", headers=auth()).json() == {"unread": 2}
    assert (
        len(
            client.get("/api/notifications", params={"unread": True}, headers=auth()).json()[
                "items"
            ]
        )
        == 2
    )
    assert client.post(f"/api/notifications/{first}/read", headers=auth("bob")).status_code == 404
    client.post("/api/notifications/read-all", headers=auth())
    assert client.get("/api/notifications/unread-count", headers=auth()).json() == {"unread": 0}
    assert client.delete("/api/notifications", headers=auth()).status_code == 204
    assert client.get("/api/notifications", headers=auth()).json()["items"] == []


def test_notifications_older_than_30_days_are_archived(client, auth) -> None:
    from taskora.domain.notifications import archive_old

    client.post("/api/tasks", json=task_body(remind_at=_past()), headers=auth())
    reminder_check(client.app.state.db, now=datetime.now(UTC))
    drain(client)
    with client.app.state.db.write() as session:
        assert archive_old(session=session, now=datetime.now(UTC) + timedelta(days=31)) == 1
    assert client.get("/api/notifications", headers=auth()).json()["items"] == []
    assert client.get("/api/notifications/unread-count", headers=auth()).json() == {"unread": 0}
