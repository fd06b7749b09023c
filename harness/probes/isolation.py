"""SEC-001's probe: one user never reaches another's data.

An owner writes tasks whose titles, description and tag carry a random mark (one of them with
an ``Idempotency-Key`` and a reminder); an intruder, with a valid token of its own, then tries
every way in it has: the owner's task ids on every task route, the owner's list and audit
cursors, the owner's tag as a filter, the same ``Idempotency-Key``, its own lists, tags, audit
and notifications, its live event stream and a replay of it from ``Last-Event-ID: 0``. Anything
the intruder gets that carries the mark or the owner's id, and any route that answers other
than 404 for the owner's task, is a leak. Last, the owner's task must be as it was left.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from harness.probes.sse import SseTab
from harness.targets import Deployment

__all__ = ["IsolationResult", "probe_isolation"]

T = TypeVar("T")


@dataclass
class IsolationResult:
    checks: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    not_exercised: list[str] = field(default_factory=list)

    def check(self, what: str, held: bool, leak: str = "") -> None:
        self.checks.append(what)
        if not held:
            self.leaks.append(f"{what}: {leak}" if leak else what)


@dataclass(frozen=True)
class _Owner:
    user: str
    mark: str
    task_id: int
    key: str

    def found_in(self, text: str) -> bool:
        """The mark, or the owner's id as a JSON string (an audit entry's actor, an event's)."""
        return self.mark in text or json.dumps(self.user) in text


def _client(deployment: Deployment, user: str) -> httpx.Client:
    return httpx.Client(
        base_url=deployment.base_url, headers=deployment.headers(user), timeout=10.0
    )


def _wait(check: Callable[[], T], timeout_s: float) -> T:
    """Poll ``check`` until it returns something truthy or the time is up (then that falsy)."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return result


def _owner_writes(api: httpx.Client, user: str) -> _Owner:
    mark = f"sec001-{uuid.uuid4().hex[:12]}"
    key = f"sec001-{uuid.uuid4().hex}"
    remind_at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    body = {"title": f"{mark} private", "description": mark, "tags": [mark], "remind_at": remind_at}
    task = api.post("/api/tasks", json=body, headers={"Idempotency-Key": key})
    task_id = task.raise_for_status().json()["id"]
    api.post("/api/tasks", json={"title": f"{mark} second", "tags": [mark]}).raise_for_status()
    api.patch(f"/api/tasks/{task_id}", json={"description": f"{mark} edited"}).raise_for_status()
    return _Owner(user, mark, task_id, key)


def _cursors(api: httpx.Client, timeout_s: float) -> dict[str, str | None]:
    """The owner's second-page cursors (the audit's once the consumers recorded two entries)."""

    def audit() -> str | None:
        return api.get("/api/audit", params={"limit": 1}).json()["next_cursor"]

    tasks = api.get("/api/tasks", params={"limit": 1}).json()["next_cursor"]
    return {"tasks": tasks, "audit": _wait(audit, timeout_s)}


def _idempotency(api: httpx.Client, owner: _Owner, result: IsolationResult) -> int | None:
    """The intruder creates a task of its own under the owner's Idempotency-Key; its id."""
    mine = api.post(
        "/api/tasks", json={"title": "the intruder's own"}, headers={"Idempotency-Key": owner.key}
    )
    own = mine.status_code == 201 and mine.json()["id"] != owner.task_id
    result.check(
        "the owner's Idempotency-Key",
        own and not owner.found_in(mine.text),
        f"answered {mine.status_code} {mine.text[:200]}",
    )
    return int(mine.json()["id"]) if own else None


def _by_id(api: httpx.Client, owner: _Owner, result: IsolationResult) -> None:
    path = f"/api/tasks/{owner.task_id}"
    attempts = (
        ("GET", path, None),
        ("PATCH", path, {"title": "taken"}),
        ("POST", f"{path}/complete", None),
        ("POST", f"{path}/reopen", None),
        ("POST", f"{path}/recurrence/cancel", None),
        ("DELETE", path, None),
    )
    for method, url, body in attempts:
        response = api.request(method, url, json=body)
        what = f"{method} {url.replace(str(owner.task_id), '{owner task}')}"
        result.check(what, response.status_code == 404, f"answered {response.status_code}")


def _lists(
    api: httpx.Client, owner: _Owner, cursors: dict[str, str | None], result: IsolationResult
) -> None:
    """The intruder's own lists, with the owner's mark, tag, task and cursors as filters too."""
    views: list[tuple[str, str, dict[str, Any]]] = [
        ("tasks", "/api/tasks", {}),
        ("tasks searched for the owner's mark", "/api/tasks", {"q": owner.mark}),
        ("tasks with the owner's tag", "/api/tasks", {"tag": owner.mark}),
        ("tags", "/api/tags", {}),
        ("audit", "/api/audit", {}),
        ("audit of the owner's task", "/api/audit", {"task_id": owner.task_id}),
        ("notifications", "/api/notifications", {}),
    ]
    for name, url in (("tasks", "/api/tasks"), ("audit", "/api/audit")):
        if cursors.get(name):
            views.append((f"{name} from the owner's cursor", url, {"cursor": cursors[name]}))
    for name, url, params in views:
        response = api.get(url, params=params)
        leaked = response.status_code == 200 and owner.found_in(response.text)
        result.check(name, not leaked, f"shows the owner's data: {response.text[:200]}")


def _received_once_own_arrived(tab: SseTab, own_id: int, timeout_s: float) -> str | None:
    """What the tab received once the intruder's own task.created arrived (the stream is in log
    order: the owner's earlier events had their turn); None if it never came."""

    def own_arrived() -> bool:
        return any(
            r.type == "task.created" and r.event["data"]["task"]["id"] == own_id
            for r in tab.snapshot()
        )

    if not _wait(own_arrived, timeout_s):
        return None
    return json.dumps([r.event for r in tab.snapshot()])


def _stream(
    name: str, tab: SseTab, owner: _Owner, own_id: int, timeout_s: float, result: IsolationResult
) -> None:
    seen = _received_once_own_arrived(tab, own_id, timeout_s)
    if seen is None:
        result.not_exercised.append(f"{name}: the intruder's own event never came")
    else:
        result.check(name, not owner.found_in(seen), "carried the owner's events")


def probe_isolation(
    deployment: Deployment, owner_user: str, intruder: str, *, timeout_s: float = 15.0
) -> IsolationResult:
    result = IsolationResult()
    with ExitStack() as stack:
        live = stack.enter_context(_open(SseTab(deployment.base_url, deployment.token(intruder))))
        owner_api = stack.enter_context(_client(deployment, owner_user))
        api = stack.enter_context(_client(deployment, intruder))
        owner = _owner_writes(owner_api, owner_user)
        cursors = _cursors(owner_api, timeout_s)
        if not _wait(lambda: owner.mark in owner_api.get("/api/notifications").text, timeout_s):
            result.not_exercised.append("notifications: the owner's reminder never came")
        before = owner_api.get(f"/api/tasks/{owner.task_id}").json()
        own_id = _idempotency(api, owner, result)
        _by_id(api, owner, result)
        _lists(api, owner, cursors, result)
        if own_id is None:
            result.not_exercised.append("streams: the intruder could not create its own task")
        else:
            _stream("live stream", live, owner, own_id, timeout_s, result)
            replay = SseTab(deployment.base_url, deployment.token(intruder), last_event_id="0")
            with _open(replay):
                _stream(
                    "stream replayed from Last-Event-ID 0", replay, owner, own_id, timeout_s, result
                )
        after = owner_api.get(f"/api/tasks/{owner.task_id}")
        intact = after.status_code == 200 and after.json() == before
        result.check(
            "the owner's task after the attempts",
            intact,
            f"now {after.status_code} {after.text[:200]}",
        )
    return result


@contextmanager
def _open(tab: SseTab) -> Iterator[SseTab]:
    """A connected tab, closed and joined on the way out."""
    tab.start()
    try:
        tab.connected.wait(10)
        yield tab
    finally:
        tab.close()
        tab.join(10)
