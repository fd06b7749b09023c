"""Ledger writers: clients that keep creating tasks while faults are injected, and record each
write as ``ok``, ``fail`` or ``info`` (see ``harness.probes.ledger``).

Every other write carries an ``Idempotency-Key`` and is retried with it while it gets no answer
or a 5xx, as a well-behaved client would, so a retry is never a second task. The others are
sent the way most clients send a create, without a key, and once: a retry could be a second
task, so one that gets no answer (or a 5xx) stays ``info``, allowed to exist, never twice.
After the create, each write of five does one more thing, so that every kind of event a write
causes is checked (``harness.chaos.check``): the first is a recurring task the writer completes
(its next occurrence must appear exactly once), the second is updated, the third deleted, the
fourth has a reminder due a second later, the fifth is left as it is.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from harness.probes.ledger import Ledger
from harness.targets import Deployment

__all__ = ["Writers"]

RECURRING_EVERY = 5  # n % 5: 0 recurring + completed, 1 updated, 2 deleted, 3 reminded, 4 as is
REMINDER_AFTER_S = 1.0
RETRY_FOR_S = 30.0  # a write still unanswered after this long is recorded as info
REQUEST_TIMEOUT_S = 5.0


def _retryable(response: httpx.Response) -> bool:
    return response.status_code >= 500 or response.status_code == 429


@dataclass
class Writers:
    deployment: Deployment
    users: list[str]
    ledger: Ledger = field(default_factory=Ledger)
    acked_ids: dict[str, int] = field(default_factory=dict)  # key -> task id
    completed: dict[int, str] = field(default_factory=dict)  # recurring task id -> user
    updated: dict[int, str] = field(default_factory=dict)  # task id -> user (PATCH answered 200)
    deleted: dict[str, int] = field(default_factory=dict)  # key -> task id (DELETE answered 204)
    reminded: dict[int, str] = field(default_factory=dict)  # task id -> user (remind_at set)
    errors: int = 0  # answers that were not a success, and requests that got none
    keyless: int = 0  # creates sent without an Idempotency-Key
    _halt: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._halt.clear()
        for user in self.users:
            thread = threading.Thread(target=self._write, args=(user,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._halt.set()
        for thread in self._threads:
            thread.join(timeout=RETRY_FOR_S + REQUEST_TIMEOUT_S + 5)
        self._threads.clear()

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def _send_once(
        self, http: httpx.Client, method: str, url: str, **kwargs: object
    ) -> httpx.Response | None:
        """The answer, unless there was none or a 5xx (None: the write may or may not be)."""
        try:
            response = http.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError:
            response = None
        if response is not None and response.status_code < 500:
            return response
        with self._lock:
            self.errors += 1
        return None

    def _send(
        self, http: httpx.Client, method: str, url: str, **kwargs: object
    ) -> httpx.Response | None:
        """The answer, retried while there is none or a 5xx; None when it never came."""
        deadline = time.monotonic() + RETRY_FOR_S
        delay = 0.05
        while True:
            try:
                response = http.request(method, url, **kwargs)  # type: ignore[arg-type]
                if not _retryable(response):
                    return response
            except httpx.HTTPError:
                pass
            with self._lock:
                self.errors += 1
            if time.monotonic() + delay >= deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _write(self, user: str) -> None:
        headers = self.deployment.headers(user)
        base_url = self.deployment.base_url
        with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as http:
            n = 0
            while not self._halt.is_set():
                self._create(http, user, n)
                n += 1

    def _create(self, http: httpx.Client, user: str, n: int) -> None:
        key = f"{user}-{n}"
        body: dict[str, object] = {"title": key, "tags": ["chaos"]}
        step = n % RECURRING_EVERY
        if step == 0:
            body.update(recurrence="FREQ=DAILY;COUNT=3", due_at="2030-01-31T09:00:00+00:00")
        elif step == 3:
            remind_at = datetime.now(UTC) + timedelta(seconds=REMINDER_AFTER_S)
            body.update(
                due_at=(remind_at + timedelta(days=1)).isoformat(), remind_at=remind_at.isoformat()
            )
        self.ledger.record(key, "info")  # attempted; the answer decides
        if n % 2 == 0:
            response = self._send(
                http, "POST", "/api/tasks", json=body, headers={"Idempotency-Key": key}
            )
        else:
            with self._lock:
                self.keyless += 1
            response = self._send_once(http, "POST", "/api/tasks", json=body)
        if response is None:
            return
        if response.status_code != 201:
            self.ledger.record(key, "fail")
            return
        task_id = int(response.json()["id"])
        self.ledger.record(key, "ok")
        with self._lock:
            self.acked_ids[key] = task_id
            if step == 3:
                self.reminded[task_id] = user
        if step == 0:
            done = self._send(http, "POST", f"/api/tasks/{task_id}/complete")
            if done is not None and done.is_success:
                with self._lock:
                    self.completed[task_id] = user
        elif step == 1:
            changed = self._send(http, "PATCH", f"/api/tasks/{task_id}", json={"priority": "high"})
            if changed is not None and changed.is_success:
                with self._lock:
                    self.updated[task_id] = user
        elif step == 2:
            self._delete(http, key, task_id)

    def _delete(self, http: httpx.Client, key: str, task_id: int) -> None:
        """An acknowledged delete must leave the task absent and its event delivered. Retried
        after no answer, a 404 may be the first attempt's work: the task may be either way."""
        path = f"/api/tasks/{task_id}"
        gone = self._send_once(http, "DELETE", path)
        retried = gone is None
        if retried:
            gone = self._send(http, "DELETE", path)
        if gone is not None and gone.status_code == 204:
            self.ledger.record(key, "deleted")
            with self._lock:
                self.deleted[key] = task_id
        elif gone is None or (retried and gone.status_code == 404):
            self.ledger.record(key, "info")
