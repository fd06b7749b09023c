"""The SSE stream against a real two-worker server: every subscriber of a user gets every event,
whichever worker served the write (on SQLite, and on PostgreSQL where NOTIFY wakes the tails);
Last-Event-ID resumes from the log."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from tests.process import Server, running
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _sqlite(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


class Subscriber(threading.Thread):
    """One browser tab: reads the stream into a queue until told to stop."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        last_event_id: str | None = None,
        via_query: bool = False,
    ) -> None:
        super().__init__(name="sse-subscriber")
        self.url = f"{base_url}/api/events/stream"
        self.headers = {} if via_query else {"Authorization": f"Bearer {token}"}
        self.params = {"access_token": token} if via_query else {}
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = last_event_id
        self.events: queue.Queue[tuple[float, object]] = queue.Queue()
        self.connected = threading.Event()
        self.stopped = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError as exc:  # the server went away: the test is over
            self.error = exc

    def _read(self) -> None:
        timeout = httpx.Timeout(5, read=30)
        with (
            httpx.Client(timeout=timeout) as http,
            connect_sse(http, "GET", self.url, headers=self.headers, params=self.params) as source,
        ):
            self.connected.set()
            for sse in source.iter_sse():
                self.events.put((time.monotonic(), sse))
                if self.stopped.is_set():
                    return

    def take(self, count: int, timeout: float = 15) -> list:
        out, deadline = [], time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            try:
                out.append(self.events.get(timeout=0.2)[1])
            except queue.Empty:
                pass
        return out


def _connections(server: Server) -> float:
    """Open event-stream connections, summed over the server's workers."""
    for line in httpx.get(f"{server.base_url}/metrics").text.splitlines():
        if line.startswith("taskora_sse_connections "):
            return float(line.split()[1])
    return 0.0


def _subscribed(server: Server, *tabs: Subscriber) -> None:
    """Start the tabs, wait until each has its response headers (it is subscribed then), and
    until the server's metrics count them all."""
    for tab in tabs:
        tab.start()
        assert tab.connected.wait(10)
    wait_until(lambda: _connections(server) >= len(tabs), 10, f"{len(tabs)} subscriptions")


@contextmanager
def _serving(
    tmp_path: Path, workers: int, database_url: str | None = None
) -> Iterator[tuple[Server, list[Subscriber]]]:
    """The server, and a list for the tabs started against it; once the server is gone every
    tab's stream ends, and each tab is joined."""
    tabs: list[Subscriber] = []
    try:
        url = database_url or _sqlite(tmp_path)
        with running(url, tmp_path / "serve.log", workers=workers) as server:
            yield server, tabs
    finally:
        for tab in tabs:
            tab.stopped.set()
            tab.join(timeout=10)


def test_every_tab_sees_every_write_from_either_worker(tmp_path, database_url: str) -> None:
    with _serving(tmp_path, workers=2, database_url=database_url) as (server, started):
        tabs = [Subscriber(server.base_url, server.token("alice")) for _ in range(3)]
        other = Subscriber(server.base_url, server.token("bob"))
        started += [*tabs, other]
        _subscribed(server, *tabs, other)
        tasks_url, headers = f"{server.base_url}/api/tasks", server.headers("alice")
        ids = []
        for i in range(20):  # a new connection each: the writes spread over both workers
            ids.append(httpx.post(tasks_url, json={"title": f"t{i}"}, headers=headers).json()["id"])
        httpx.post(f"{tasks_url}/{ids[0]}/complete", headers=headers)
        for tab in tabs:
            got = tab.take(21)
            assert [e.event for e in got] == ["task.created"] * 20 + ["task.completed"]
            assert [json.loads(e.data)["data"]["task"]["id"] for e in got[:20]] == ids
            sequences = [int(e.id) for e in got]
            assert sequences == sorted(sequences)
        assert other.take(1, timeout=1) == []  # bob sees nothing of alice's


def test_last_event_id_replays_what_was_missed(tmp_path) -> None:
    with _serving(tmp_path, workers=2) as (server, started):
        tasks_url, headers = f"{server.base_url}/api/tasks", server.headers("alice")
        first = Subscriber(server.base_url, server.token("alice"))
        started.append(first)
        _subscribed(server, first)
        httpx.post(tasks_url, json={"title": "seen"}, headers=headers)
        seen = first.take(1)[0]
        first.stopped.set()
        for i in range(5):  # written while the tab was away
            httpx.post(tasks_url, json={"title": f"gone {i}"}, headers=headers)
        token = server.token("alice")
        back = Subscriber(server.base_url, token, last_event_id=seen.id, via_query=True)
        started.append(back)
        back.start()
        got = back.take(5)
        titles = [json.loads(e.data)["data"]["task"]["title"] for e in got]
        assert titles == [f"gone {i}" for i in range(5)]
        assert int(got[0].id) == int(seen.id) + 1


def test_stream_needs_a_valid_token(tmp_path) -> None:
    with running(_sqlite(tmp_path), tmp_path / "serve.log", workers=1) as server:
        url = f"{server.base_url}/api/events/stream"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, params={"access_token": "forged"}).status_code == 401


def test_one_user_holds_a_bounded_number_of_streams_and_others_are_not_affected(tmp_path) -> None:
    """Past TASKORA_SSE_STREAMS_PER_USER a user's next stream is a 429 with Retry-After; other
    users still connect; a closed stream frees its slot."""
    url = _sqlite(tmp_path)
    with running(
        url, tmp_path / "serve.log", workers=1, env={"TASKORA_SSE_STREAMS_PER_USER": "2"}
    ) as server:
        stream = f"{server.base_url}/api/events/stream"
        tabs = [Subscriber(server.base_url, server.token("mallory")) for _ in range(2)]
        try:
            _subscribed(server, *tabs)
            refused = httpx.get(stream, headers=server.headers("mallory"), timeout=5)
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"
            alice = Subscriber(server.base_url, server.token("alice"))
            tabs.append(alice)
            alice.start()
            assert alice.connected.wait(10)
            wait_until(lambda: _connections(server) == 3, 10, "alice subscribed beside mallory")
        finally:
            for tab in tabs:
                tab.stopped.set()
        # Stopped tabs leave at their next event: a write of each user's ends them.
        for user in ("mallory", "alice"):
            httpx.post(
                f"{server.base_url}/api/tasks", json={"title": "t"}, headers=server.headers(user)
            )
        for tab in tabs:
            tab.join(timeout=10)
        wait_until(lambda: _connections(server) == 0, 10, "every stream closed")
        fresh = Subscriber(server.base_url, server.token("mallory"))
        tabs.append(fresh)
        try:
            _subscribed(server, fresh)
        finally:
            fresh.stopped.set()
            httpx.post(
                f"{server.base_url}/api/tasks",
                json={"title": "t"},
                headers=server.headers("mallory"),
            )
            fresh.join(timeout=10)


def test_a_stream_ends_when_its_token_expires(tmp_path) -> None:
    """The stream does not outlive the token's exp: its last event is stream.expired."""
    with running(_sqlite(tmp_path), tmp_path / "serve.log", workers=1) as server:
        tab = Subscriber(server.base_url, server.token("alice", ttl_seconds=3))
        tab.start()
        try:
            assert tab.connected.wait(10)
            tab.join(timeout=20)  # the server ends the stream ~3 s in
            assert not tab.is_alive(), "the stream outlived its token"
            events = [sse for _, sse in list(tab.events.queue)]
            assert [e.event for e in events][-1:] == ["stream.expired"]
        finally:
            tab.stopped.set()
            tab.join(timeout=10)


def _titles_until(tab: Subscriber, title: str, timeout: float = 10) -> list[str]:
    """The titles of the task.created events the tab receives, up to ``title`` (or the end)."""
    titles: list[str] = []
    deadline = time.monotonic() + timeout
    while title not in titles and (left := deadline - time.monotonic()) > 0:
        titles += [json.loads(e.data)["data"]["task"]["title"] for e in tab.take(1, left)]
    return titles


def test_a_tab_is_subscribed_once_it_has_the_response_headers(tmp_path) -> None:
    """The contract SC-002's probe relies on: no wait between connecting and writing. A new tab
    may also get a change committed just before it subscribed (its worker's tail had not read
    it yet), never miss one committed after."""
    with _serving(tmp_path, workers=2) as (server, started):
        tasks_url, headers = f"{server.base_url}/api/tasks", server.headers("carol")
        for i in range(10):
            tab = Subscriber(server.base_url, server.token("carol"))
            started.append(tab)
            tab.start()
            assert tab.connected.wait(10)
            httpx.post(tasks_url, json={"title": f"right away {i}"}, headers=headers)
            titles = _titles_until(tab, f"right away {i}")
            assert titles[-1:] == [f"right away {i}"], titles
            assert set(titles) <= {f"right away {j}" for j in range(i + 1)}, titles
            tab.stopped.set()


def test_a_stream_names_the_worker_that_serves_it(tmp_path) -> None:
    with _serving(tmp_path, workers=2) as (server, _started):
        url, headers = f"{server.base_url}/api/events/stream", server.headers("dave")
        with httpx.Client(timeout=10) as http, http.stream("GET", url, headers=headers) as stream:
            host, _, pid = stream.headers["X-Served-By"].rpartition("/")
        assert host and pid.isdigit() and int(pid) != server.process.pid  # a worker, not the parent
