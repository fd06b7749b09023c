"""The actions and probes the experiments in ``chaos/`` call (Chaos Toolkit python provider).

Each takes the experiment's ``configuration`` last, as Chaos Toolkit passes it, and acts on the
``ChaosSession`` it names (``harness.chaos.session``): its target (kill a replica, crash and
restart the service, stop and start the broker), its deployment (probes) and its ledger writers.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from harness.chaos import poison as poisons
from harness.chaos.attach import session_for
from harness.chaos.session import ChaosSession
from harness.errors import HarnessError
from harness.readiness import Readiness, answers, wait_ready
from harness.targets import Deployment, Target

Configuration = dict[str, Any] | None

__all__ = [
    "crash_service",
    "ensure_service_up",
    "error_ratio",
    "events_wait",
    "kill_replicas",
    "p95_ms",
    "plant_poison",
    "poison_contained",
    "restart_service",
    "service_ready",
    "start_broker",
    "start_writers",
    "stop_broker",
    "stop_writers",
    "writes_intact",
]

PROBE_USER = "chaos-probe"


def _ready(deployment: Deployment) -> bool:
    return answers(f"{deployment.base_url}/ready")


def _wait_ready(session: ChaosSession, timeout_s: float) -> None:
    url = f"{session.deployment.base_url}/ready"
    if wait_ready(url, timeout=timeout_s) is not Readiness.READY:
        raise HarnessError(f"the service was not ready {timeout_s:.0f} s after the fault")


def _sample(deployment: Deployment, requests: int) -> tuple[int, list[float]]:
    """``requests`` reads of the task list: (errors, latencies in ms)."""
    errors, latencies = 0, []
    with httpx.Client(
        base_url=deployment.base_url, headers=deployment.headers(PROBE_USER), timeout=5
    ) as http:
        for _ in range(int(requests)):
            started = time.perf_counter()
            try:
                ok = http.get("/api/tasks", params={"limit": 20}).is_success
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok
    return errors, latencies


# Probes


def service_ready(configuration: Configuration = None) -> bool:
    """``GET /ready`` answers 200."""
    return _ready(session_for(configuration).deployment)


def error_ratio(requests: int = 20, configuration: Configuration = None) -> float:
    """The share of ``requests`` API reads that failed."""
    errors, _ = _sample(session_for(configuration).deployment, requests)
    return errors / int(requests)


def p95_ms(requests: int = 20, configuration: Configuration = None) -> float:
    """The 95th percentile latency of ``requests`` API reads, in milliseconds."""
    _, latencies = _sample(session_for(configuration).deployment, requests)
    latencies.sort()
    return latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]


def _event_delivered(deployment: Deployment, within_s: float) -> bool:
    """Create a task; whether its ``task.created`` reached the audit trail within ``within_s``."""
    with httpx.Client(
        base_url=deployment.base_url, headers=deployment.headers(PROBE_USER), timeout=5
    ) as http:
        created = http.post("/api/tasks", json={"title": "delivery probe"})
        if created.status_code != 201:
            raise HarnessError(f"the delivery probe's write failed: {created.status_code}")
        task_id = created.json()["id"]
        deadline = time.monotonic() + float(within_s)
        while True:
            audit = http.get("/api/audit", params={"task_id": task_id, "type": "task.created"})
            if audit.is_success and audit.json()["items"]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def events_wait(within_s: float = 2.0, configuration: Configuration = None) -> bool:
    """With the consumers down, a new write's event must wait in the outbox: fails when it was
    delivered within ``within_s`` seconds (then something else consumed it)."""
    if _event_delivered(session_for(configuration).deployment, float(within_s)):
        raise HarnessError("an event was consumed while the consumers were down")
    return True


def writes_intact(configuration: Configuration = None) -> bool:
    """Every acknowledged write of the ledger writers is there exactly once and its events
    reached every consumer (true before the writers ran: nothing to judge yet)."""
    session = session_for(configuration)
    if not session.writers.ledger.operations:
        return True
    return session.judged().clean


def _store(session: ChaosSession) -> str:
    url = session.target.store_url
    if not session.target.capabilities.database or url is None:
        raise HarnessError(
            f"the {session.target.name} target cannot reach the service's "
            "database, where the poison is planted"
        )
    return url


def poison_contained(within_s: float = 30.0, configuration: Configuration = None) -> bool:
    """Every hostile request was refused (4xx) and every planted poison event ended in the dead
    letters within ``within_s`` (true before anything was planted)."""
    session = session_for(configuration)
    poison = session.poison
    if poison is None:
        return True
    accepted = {what: status for what, status in poison.refused.items() if not 400 <= status < 500}
    missing = poisons.dead_lettered(_store(session), poison, float(within_s))
    session.events.append(
        f"poison: accepted {accepted or 'nothing'}, not dead-lettered {missing or 'nothing'}"
    )
    return not accepted and not missing


# Actions


def plant_poison(configuration: Configuration = None) -> dict[str, Any]:
    """A hostile user's refused rules and forged event, then two events no consumer can apply,
    planted behind the API (see ``harness.chaos.poison``)."""
    session = session_for(configuration)
    victim = session.writers.users[0] if session.writers.users else "victim"
    session.poison = poisons.plant_poison(session.deployment, _store(session), victim)
    session.events.append(f"planted poison as {session.poison.user}")
    return {
        "refused": session.poison.refused,
        "planted": session.poison.planted,
        "completed_task": session.poison.completed_task,
    }


def start_writers(configuration: Configuration = None) -> int:
    """Start the ledger writers; they write until ``stop_writers``."""
    session = session_for(configuration)
    session.writers.start()
    return len(session.writers.users)


def stop_writers(configuration: Configuration = None) -> dict[str, Any]:
    """Stop the writers and judge their writes against what the service holds: attempted,
    acknowledged, lost, undelivered, duplicates, with examples."""
    return session_for(configuration).judged().summary()


def _replaced(target: Target, victim: str, count: int, role: str | None) -> bool:
    """All ``count`` replicas of the role are back, the victim among them only where the target
    restarts a killed replica under its own name."""
    now = target.replicas(role)
    return len(now) >= count and (victim not in now or not target.capabilities.renames_killed)


def kill_replicas(
    cycles: int = 3,
    every_s: float = 3.0,
    ready_timeout_s: float = 60.0,
    role: str | None = None,
    configuration: Configuration = None,
) -> int:
    """Every ``every_s`` seconds SIGKILL (or delete with grace 0) one replica of ``role`` (default:
    the API's), ``cycles`` times, each time waiting until the replicas are all back and the
    service is ready."""
    session = session_for(configuration)
    for cycle in range(int(cycles)):
        time.sleep(float(every_s))
        replicas = session.target.replicas(role)
        victim = replicas[cycle % len(replicas)]
        session.target.kill(victim)
        session.kills += 1
        session.events.append(f"killed replica {victim}")
        deadline = time.monotonic() + float(ready_timeout_s)
        while not _replaced(session.target, victim, len(replicas), role):
            if time.monotonic() >= deadline:
                raise HarnessError(f"replica {victim} was not replaced in {ready_timeout_s} s")
            time.sleep(0.1)
        _wait_ready(session, float(ready_timeout_s))
    return session.kills


def crash_service(role: str | None = None, configuration: Configuration = None) -> None:
    """Kill every process of the service (or of one role: ``consumers``, ...) at once."""
    session = session_for(configuration)
    session.target.crash(role)
    session.kills += 1
    session.events.append(f"crashed the {role} role" if role else "crashed the whole service")


def restart_service(
    ready_timeout_s: float = 120.0, role: str | None = None, configuration: Configuration = None
) -> None:
    """Start the service (or the role) again on the same data; wait until it is ready."""
    session = session_for(configuration)
    session.target.restart(role)
    session.events.append(f"restarted the {role} role" if role else "restarted the service")
    _wait_ready(session, float(ready_timeout_s))


def stop_broker(configuration: Configuration = None) -> None:
    """Take the message broker away."""
    session = session_for(configuration)
    session.target.stop_broker()
    session.events.append("stopped the broker")


def start_broker(configuration: Configuration = None) -> None:
    """Bring the message broker back."""
    session = session_for(configuration)
    session.target.start_broker()
    session.events.append("started the broker")


def ensure_service_up(
    ready_timeout_s: float = 120.0, role: str | None = None, configuration: Configuration = None
) -> bool:
    """Rollback: the broker and the service (and ``role``, when named) are running again,
    whatever the method left."""
    session = session_for(configuration)
    if session.target.capabilities.broker:
        session.target.start_broker()
    if role and session.target.capabilities.crash and not session.target.replicas(role):
        session.target.restart(role)
    if not _ready(session.deployment) and session.target.capabilities.crash:
        session.target.restart()
    _wait_ready(session, float(ready_timeout_s))
    return True
