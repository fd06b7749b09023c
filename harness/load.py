"""The load stage (SC-008, SC-009): seed every simulated user, run the Locust suite
``loadtests/taskora_load.py`` in processes of its own, and read its results.

Locust monkey-patches the standard library with gevent when imported, so it is never imported
here: it runs as ``python -m locust`` and its CSV/JSON/HTML files are read back.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.errors import HarnessError, UsageError
from harness.locust_stats import LoadStats, read_load_stats, read_progress
from harness.profile import Profile
from harness.targets import Deployment

__all__ = ["LoadPlan", "LoadRun", "finished", "locustfile", "run_load", "seed_users"]

LOCUSTFILE = Path("loadtests") / "taskora_load.py"
SEED_CONCURRENCY = 16
SEED_ATTEMPTS = 5
GRACE_S = 120.0  # on top of the planned duration before the Locust run is stopped
PEAK_PROBE_S = 60.0  # how long a probe run at the peak may go on after Locust ended
PROGRESS_EVERY_S = 5.0  # how often a running load stage reports where it stands
PEAK_POLL_S = 0.5  # how often Locust's user count is read to start the probe at the peak
HELD_SHARE = 0.9  # of hold_s the peak must be held for
HISTORY_STEP_S = 1.0  # Locust's per-second history: a held time is known to one row, no better


@dataclass(frozen=True)
class LoadPlan:
    users: int
    ramp_s: float
    hold_s: float
    ramp_down_s: float
    wait_min_s: float
    wait_max_s: float
    sse_every: int
    seed_per_user: int
    processes: int  # Locust processes; 0 = one per two spare cores, at least one

    @classmethod
    def from_profile(cls, profile: Profile) -> LoadPlan:
        section = "sc008"
        plan = cls(
            users=int(profile.get(section, "users")),
            ramp_s=float(profile.get(section, "ramp_s")),
            hold_s=float(profile.get(section, "hold_s")),
            ramp_down_s=float(profile.get(section, "ramp_down_s")),
            wait_min_s=float(profile.get(section, "wait_min_s")),
            wait_max_s=float(profile.get(section, "wait_max_s")),
            sse_every=int(profile.get(section, "sse_every")),
            seed_per_user=int(profile.get(section, "seed_per_user")),
            processes=int(profile.get(section, "processes")),
        )
        if plan.users < 1 or plan.hold_s <= 0 or plan.ramp_s < 0 or plan.seed_per_user < 0:
            raise UsageError("sc008: users and hold_s must be positive, ramp_s and seeds >= 0")
        if not 0 <= plan.wait_min_s <= plan.wait_max_s:
            raise UsageError("sc008: need 0 <= wait_min_s <= wait_max_s")
        if plan.processes < 0:
            raise UsageError("sc008.processes (--load-workers) must be 1 or more (0: automatic)")
        return plan

    @property
    def offered_load(self) -> str:
        """The load a P95 was measured at, in words: users and their think time."""
        return f"{self.users} users at {self.wait_min_s:g}-{self.wait_max_s:g} s think time"

    @property
    def duration_s(self) -> float:
        return self.ramp_s + self.hold_s + self.ramp_down_s

    def peak_held(self, held_s: float) -> bool:
        """Whether the peak was held long enough: ``HELD_SHARE`` of ``hold_s``, give or take the
        one history row a loaded machine writes late (a 6 s hold seen as 5 s is still held)."""
        return held_s + HISTORY_STEP_S >= HELD_SHARE * self.hold_s

    def locust_processes(self) -> int:
        if self.processes > 0:
            return self.processes
        return max(1, ((os.cpu_count() or 1) - 2) // 2)

    def environment(self, users_file: Path) -> dict[str, str]:
        return {
            "TASKORA_LOAD_USERS_FILE": str(users_file),
            "TASKORA_LOAD_USERS": str(self.users),
            "TASKORA_LOAD_RAMP_S": str(self.ramp_s),
            "TASKORA_LOAD_HOLD_S": str(self.hold_s),
            "TASKORA_LOAD_RAMP_DOWN_S": str(self.ramp_down_s),
            "TASKORA_LOAD_WAIT_MIN": str(self.wait_min_s),
            "TASKORA_LOAD_WAIT_MAX": str(self.wait_max_s),
            "TASKORA_LOAD_SSE_EVERY": str(self.sse_every),
            "TASKORA_LOAD_PROCESSES": str(self.locust_processes()),
        }


@dataclass(frozen=True)
class LoadRun:
    plan: LoadPlan
    stats: LoadStats
    directory: Path
    html: Path
    exit_code: int
    cpu_warnings: int  # times Locust said its own CPU was above 90 %


def locustfile() -> Path:
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (base / LOCUSTFILE).is_file():
            return base / LOCUSTFILE
    raise UsageError(f"no {LOCUSTFILE}: run from the repository root")


async def _seed(deployment: Deployment, users: list[str], per_user: int) -> list[dict[str, object]]:
    gate = asyncio.Semaphore(SEED_CONCURRENCY)
    limits = httpx.Limits(max_connections=SEED_CONCURRENCY)
    async with httpx.AsyncClient(base_url=deployment.base_url, limits=limits, timeout=60) as http:

        async def create(headers: dict[str, str], n: int) -> int:
            """One seeded task; a 5xx or no answer is retried with the same Idempotency-Key."""
            body = {"title": f"seeded {n}", "priority": "medium", "tags": ["seeded"]}
            key = {"Idempotency-Key": f"seed-{n}"}
            status: int | str = "no answer"
            for attempt in range(SEED_ATTEMPTS):
                async with gate:
                    try:
                        response = await http.post("/api/tasks", json=body, headers=headers | key)
                    except httpx.TransportError as exc:
                        status = repr(exc)
                    else:
                        if response.status_code == 201:
                            return int(response.json()["id"])
                        status = response.status_code
                        if status < 500:
                            break
                await asyncio.sleep(0.2 * (attempt + 1))
            raise HarnessError(f"seeding failed: POST /api/tasks -> {status}")

        async def seed_one(user: str) -> dict[str, object]:
            headers = deployment.headers(user)
            ids = [await create(headers, n) for n in range(per_user)]
            return {"user": user, "token": deployment.token(user), "tasks": ids}

        return await asyncio.gather(*(seed_one(user) for user in users))


def seed_users(deployment: Deployment, plan: LoadPlan, directory: Path, prefix: str) -> Path:
    """One identity per simulated user with ``seed_per_user`` tasks each; the users file."""
    users = [f"{prefix}-{n:05d}" for n in range(plan.users)]
    identities = asyncio.run(_seed(deployment, users, plan.seed_per_user))
    path = directory / "users.json"
    path.write_text(json.dumps(identities), encoding="utf-8")
    return path


def _progress_line(plan: LoadPlan, csv_prefix: Path, elapsed: float) -> str:
    left = f"{max(0.0, plan.duration_s - elapsed):.0f} s left"
    now = read_progress(csv_prefix)
    if now is None:
        return f"load: starting Locust ({left})"
    return (
        f"load: {now.users}/{plan.users} users, {now.rps:.0f} req/s, {now.requests} "
        f"requests, {now.failures} failed, {left}"
    )


def _at_peak(plan: LoadPlan, csv_prefix: Path) -> bool:
    """Every user of the plan runs, by Locust's own count (its start takes seconds of its own,
    so the clock since launch says nothing)."""
    now = read_progress(csv_prefix)
    return now is not None and now.users >= plan.users


def _wait(
    locust: subprocess.Popen[bytes],
    plan: LoadPlan,
    csv_prefix: Path,
    progress: Callable[[str], object] | None,
    peak: threading.Thread | None,
) -> None:
    """Wait for Locust, reporting every PROGRESS_EVERY_S and starting ``peak`` once every user
    runs; kill Locust past its time and raise."""
    started = time.monotonic()
    limit = plan.duration_s + GRACE_S
    reported = started
    while True:
        try:
            locust.wait(timeout=PEAK_POLL_S)
            return
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if now - started >= limit:
            locust.kill()
            locust.wait()
            raise HarnessError(f"Locust did not finish within {limit:.0f} s")
        if peak is not None and peak.ident is None and _at_peak(plan, csv_prefix):
            peak.start()
        if progress is not None and now - reported >= PROGRESS_EVERY_S:
            reported = now
            progress(_progress_line(plan, csv_prefix, now - started))


def run_load(
    deployment: Deployment,
    plan: LoadPlan,
    directory: Path,
    prefix: str,
    *,
    at_peak: Callable[[], object] | None = None,
    progress: Callable[[str], object] | None = None,
) -> LoadRun:
    """Seed, run Locust headless for the plan's shape, read its files; raise if it could not.
    ``at_peak`` runs on a thread of its own once Locust reports every user running (a probe
    under load); it is waited for before this returns, and never runs if the peak never came.
    ``progress`` gets a line every few seconds (users, req/s, failures, time left)."""
    directory.mkdir(parents=True, exist_ok=True)
    if progress is not None:
        progress(f"load: seeding {plan.users} users")
    users_file = seed_users(deployment, plan, directory, prefix)
    csv_prefix, log = directory / "locust", directory / "locust.log"
    html, json_file = directory / "locust.html", directory / "locust.json"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile()),
        "--headless",
        "--host",
        deployment.base_url,
        "--csv",
        str(csv_prefix),
        "--csv-full-history",
        "--html",
        str(html),
        "--json-file",
        str(directory / "locust"),
        "--logfile",
        str(log),
        "--loglevel",
        "INFO",
        "--stop-timeout",
        "5",
        "--exit-code-on-error",
        "0",
    ]
    processes = plan.locust_processes()
    if processes > 1:
        command += ["--processes", str(processes)]
    env = {**os.environ, **plan.environment(users_file), "PYTHONUNBUFFERED": "1"}
    peak = threading.Thread(target=at_peak, name="load-peak", daemon=True) if at_peak else None
    errors = directory / "locust.stderr"  # a file, not a pipe: nothing to drain while waiting
    try:
        with (
            errors.open("wb") as stderr,
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr) as locust,
        ):
            _wait(locust, plan, csv_prefix, progress, peak)
    except FileNotFoundError:
        raise UsageError("Locust is not installed: pip install -e '.[load]'") from None
    finally:
        if peak is not None and peak.is_alive():
            peak.join(timeout=PEAK_PROBE_S)
    if locust.returncode not in (0, 1) or not json_file.is_file():
        tail = errors.read_text(errors="replace").strip().splitlines()[-1:]
        raise HarnessError(f"Locust failed (exit {locust.returncode}): {' '.join(tail)}")
    return finished(plan, directory, locust.returncode)


def finished(plan: LoadPlan, directory: Path, exit_code: int) -> LoadRun:
    """The run whose Locust files (``locust.json``, ``locust_*.csv``, ``locust.log``) are in
    ``directory``."""
    json_file, log = directory / "locust.json", directory / "locust.log"
    if not json_file.is_file():
        raise HarnessError(f"Locust wrote no {json_file.name} (exit {exit_code})")
    text = log.read_text(errors="replace") if log.is_file() else ""
    return LoadRun(
        plan=plan,
        stats=read_load_stats(json_file, directory / "locust"),
        directory=directory,
        html=directory / "locust.html",
        exit_code=exit_code,
        cpu_warnings=text.count("CPU usage above"),
    )
