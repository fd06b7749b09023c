"""Roles: one image run as api, consumers or scheduler. Each serves its own routes and runs its
own background work; run apart on one database they do together what ``all`` does, and events
wait in the outbox while the consumers are down."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from taskora import runtime
from taskora.app import create_app
from taskora.auth import issue_token
from taskora.db import Database
from taskora.domain.tasks import create_task
from taskora.events.outbox import undispatched
from taskora.migrate import upgrade
from taskora.schemas import TaskCreate
from taskora.settings import ROLES, Settings
from tests.process import Server
from tests.waiting import wait_until

ROUTES = {  # a request per role-owned route, and the roles that serve it
    ("GET", "/api/tasks"): {"all", "api"},
    ("POST", "/dapr/events/task-events"): {"all", "consumers"},
    ("POST", "/cron/housekeeping"): {"all", "scheduler"},
}


SIDECAR = {"dapr-api-token": "sidecar-token"}  # what the sidecar brings to the internal routes


def _settings(tmp_path: Path, role: str, **overrides: object) -> Settings:
    url = f"sqlite:///{tmp_path / 'roles.db'}"
    upgrade(url)
    token = SIDECAR["dapr-api-token"]
    values: dict[str, object] = {"bus": "dapr", "background": False, "app_api_token": token}
    values.update(overrides)
    return Settings(env="test", database_url=url, role=role, access_log=False, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_serves_its_routes_and_every_role_is_probed(tmp_path: Path, role: str) -> None:
    settings = _settings(tmp_path, role)
    auth = {"Authorization": f"Bearer {issue_token(settings, 'alice')}"}
    with TestClient(create_app(settings), headers=SIDECAR) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200
        assert client.get("/metrics").status_code == 200
        for (method, path), roles in ROUTES.items():
            answer = client.request(method, path, headers=auth, content=b"{}")
            assert (answer.status_code != 404) is (role in roles), (method, path, answer.text)
        subscriptions = client.get("/dapr/subscribe").json()
    topics = {s["topic"] for s in subscriptions}
    assert topics == ({"task-events", "reminder-events"} if settings.runs("consumers") else set())


def _thread_names(settings: Settings) -> set[str]:
    app = create_app(settings.model_copy(update={"background": True}))
    with TestClient(app):
        return {t.name for t in app.state.runtime._threads}


@pytest.mark.parametrize(
    ("role", "ticker", "loops"),
    [
        ("api", 1.0, {"taskora-stream"}),
        ("consumers", 1.0, {"taskora-relay"}),
        ("scheduler", 1.0, {"taskora-housekeeping", "taskora-outbox-lag", "taskora-ticker"}),
        # the cron binding drives reminders
        ("scheduler", 0.0, {"taskora-housekeeping", "taskora-outbox-lag"}),
        (
            "all",
            1.0,
            {
                "taskora-stream",
                "taskora-relay",
                "taskora-housekeeping",
                "taskora-outbox-lag",
                "taskora-ticker",
            },
        ),
    ],
)
def test_each_role_runs_only_its_background_work(
    tmp_path: Path, role: str, ticker: float, loops: set[str]
) -> None:
    settings = _settings(tmp_path, role, bus="inline", ticker_seconds=ticker)
    assert _thread_names(settings) == loops


def test_events_stuck_in_the_outbox_show_as_lag_within_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No consumers role runs, so no relay: the scheduler's gauge reports the oldest event's age."""
    monkeypatch.setattr(runtime, "OUTBOX_LAG_SECONDS", 0.1)
    settings = _settings(tmp_path, "scheduler", bus="inline", background=True, ticker_seconds=0)
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.db.write() as session:
            create_task(
                session=session,
                user_id="alice",
                data=TaskCreate(title="stuck"),
                now=datetime.now(UTC) - timedelta(seconds=60),
            )

        def lag() -> float:
            for line in client.get("/metrics").text.splitlines():
                if line.startswith("taskora_outbox_lag_seconds "):
                    return float(line.split()[1])
            return 0.0

        assert wait_until(lambda: lag() >= 60, 10, "the gauge shows the stuck event's age")


def test_serve_rejects_an_unknown_role(capsys: pytest.CaptureFixture[str]) -> None:
    from taskora.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--role", "worker"])
    assert exited.value.code == 2
    assert "invalid choice: 'worker'" in capsys.readouterr().err


# Real processes: the three roles on one database


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.2)


def _undispatched(url: str) -> int:
    """Events in the outbox not yet handed to the bus (the inline bus applies an event to every
    consumer before the relay marks it dispatched)."""
    database = Database(url)
    try:
        with database.read() as session:
            return len(undispatched(session=session, limit=1000))
    finally:
        database.dispose()


@pytest.fixture
def roles(tmp_path: Path) -> Iterator[dict[str, Server]]:
    url = f"sqlite:///{tmp_path / 'split.db'}"
    servers = {
        role: Server(url, tmp_path / f"{role}.log", workers=1, env={"TASKORA_ROLE": role})
        for role in ("api", "consumers", "scheduler")
    }
    with ExitStack() as stack:
        for server in servers.values():
            server.start()
            stack.callback(server.kill)
        yield servers


@pytest.mark.integration
@pytest.mark.slow
def test_split_roles_deliver_every_event_and_hold_them_while_consumers_are_down(
    roles: dict[str, Server],
) -> None:
    api = roles["api"]
    with httpx.Client(base_url=api.base_url, headers=api.headers("alice"), timeout=10) as http:

        def audited() -> int:
            return len(http.get("/api/audit", params={"type": "task.created"}).json()["items"])

        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        created = http.post("/api/tasks", json={"title": "remind me", "remind_at": soon})
        assert created.status_code == 201
        _until(lambda: audited() == 1, 20, "the consumers role audits the write")
        _until(
            lambda: http.get("/api/notifications").json()["items"] != [],
            20,
            "the scheduler finds the reminder, the consumers notify",
        )

        roles["consumers"].kill()
        for i in range(5):
            assert http.post("/api/tasks", json={"title": f"while down {i}"}).status_code == 201
        time.sleep(2)  # a window in which a role that must not consume would: nothing to wait for
        assert audited() == 1, "only the consumers role consumes"
        roles["consumers"].start()
        _until(
            lambda: _undispatched(api.database_url) == 0,
            30,
            "events held in the outbox are delivered on return",
        )
        assert audited() == 6  # each exactly once: consumed before it is marked dispatched
