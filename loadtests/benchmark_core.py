"""Benchmark of the core task API: requests/s and P50/P95/P99 latency of create and list.

Run from the repository root, with the ``load`` extra installed (``pip install -e '.[load]'``)::

    python loadtests/benchmark_core.py [--users 200] [--duration 30] [--workers 2]
        [--spawn-rate 100] [--seed-per-user 20] [--database-url URL] [--out result.json]

It starts ``taskora serve`` on a free port of 127.0.0.1 (a fresh SQLite file in a temporary
directory unless ``--database-url`` is given), mints one token per simulated user, seeds
``--seed-per-user`` tasks for each user over HTTP, then runs ``loadtests/core_api.py`` with
Locust in a subprocess. Stats are reset once all users are spawned, so the measured window is
``--duration`` seconds at full load. The server is always torn down, also on Ctrl-C.

This is a benchmark, not a test: it prints numbers and judges none of them.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt

from harness.api import Readiness, wait_ready

HOST = "127.0.0.1"
HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "core_api.py"
READY_TIMEOUT = 60.0
KILL_AFTER = 10.0
SEED_CONCURRENCY = 32
ROWS = ("create", "list", "Aggregated")
ROUNDING_NOTE = (
    "Locust buckets response times: exact below 100 ms, rounded to 10 ms from 100 ms, "
    "to 100 ms from 1 s."
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="simulated users (default 200)")
    parser.add_argument("--duration", type=int, default=30, help="measured seconds (default 30)")
    parser.add_argument("--workers", type=int, default=2, help="server workers (default 2)")
    parser.add_argument("--spawn-rate", type=float, default=100.0, help="users started per s")
    parser.add_argument("--seed-per-user", type=int, default=20, help="tasks seeded per user")
    parser.add_argument("--database-url", help="use this database instead of a fresh SQLite file")
    parser.add_argument("--out", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args()
    if args.users < 1 or args.duration < 1 or args.workers < 1 or args.spawn_rate <= 0:
        parser.error("--users, --duration, --workers and --spawn-rate must be positive")
    return args


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def taskora_command() -> str:
    """The ``taskora`` console script of this interpreter's environment, else the one on PATH."""
    beside = Path(sys.executable).parent / "taskora"
    found = str(beside) if beside.exists() else shutil.which("taskora")
    if not found:
        raise SystemExit("the taskora console script is not installed")
    return found


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it if it is still there after KILL_AFTER seconds."""
    if proc.poll() is not None:
        _kill_group(proc.pid, signal.SIGKILL)  # leftovers of a leader that already exited
        return
    _kill_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=KILL_AFTER)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
    _kill_group(proc.pid, signal.SIGKILL)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


@contextmanager
def serving(
    command: list[str],
    port: int,
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[str]:
    """Start an HTTP server in its own process group; yield its base URL once ``/ready``."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base_url = f"http://{HOST}:{port}"
        wait_until_ready(base_url, proc, log_path)
        yield base_url
    finally:
        stop_group(proc)


@contextmanager
def running_server(
    database_url: str, secret: str, workers: int, port: int, log_path: Path
) -> Iterator[str]:
    """Start ``taskora serve`` in its own process group; yield its base URL."""
    env = {**os.environ, "TASKORA_JWT_SECRET": secret, "TASKORA_DATABASE_URL": database_url}
    command = [taskora_command(), "serve", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers), "--drain-seconds", "5"]
    with serving(command, port, log_path, env=env) as base_url:
        yield base_url


def wait_until_ready(base_url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    readiness = wait_ready(
        f"{base_url}/ready",
        timeout=READY_TIMEOUT,
        exited=lambda: proc.poll() is not None,
        every=0.2,
    )
    if readiness is Readiness.EXITED:
        raise SystemExit(f"the server exited early:\n{tail(log_path)}")
    if readiness is Readiness.TIMED_OUT:
        late = f"the server was not ready within {READY_TIMEOUT:.0f} s"
        raise SystemExit(f"{late}:\n{tail(log_path)}")


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def mint_tokens(secret: str, users: int, ttl_seconds: int) -> list[str]:
    """One HS256 token per simulated user, with the ``sub`` and ``exp`` the service requires."""
    now = datetime.now(UTC)
    claims = {"iat": now, "exp": now + timedelta(seconds=ttl_seconds)}
    return [
        jwt.encode({**claims, "sub": f"user-{i}"}, secret, algorithm="HS256") for i in range(users)
    ]


async def _seed(base_url: str, tokens: list[str], per_user: int) -> int:
    gate = asyncio.Semaphore(SEED_CONCURRENCY)
    limits = httpx.Limits(max_connections=SEED_CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as client:

        async def create(token: str, n: int) -> None:
            body = {"title": f"seed {n}", "priority": "medium", "tags": ["seed"]}
            headers = {"Authorization": f"Bearer {token}"}
            async with gate:
                response = await client.post("/api/tasks", json=body, headers=headers)
            response.raise_for_status()

        jobs = [create(token, n) for token in tokens for n in range(per_user)]
        await asyncio.gather(*jobs)
    return len(jobs)


def seed_tasks(base_url: str, tokens: list[str], per_user: int) -> None:
    started = time.monotonic()
    created = asyncio.run(_seed(base_url, tokens, per_user))
    print(f"seeded {created} tasks in {time.monotonic() - started:.1f} s", flush=True)


def cpu_busy_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat, or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def run_locust(base_url: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Run Locust headless in its own process group; return its CSV prefix and CPU figures."""
    tokens_path = workdir / "tokens.json"
    prefix = workdir / "locust"
    ramp = math.ceil(args.users / args.spawn_rate)
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
    command += ["-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{ramp + args.duration}s"]
    command += ["--host", base_url, "--csv", str(prefix), "--reset-stats", "--only-summary"]
    env = {**os.environ, "TASKORA_BENCH_TOKENS": str(tokens_path)}
    log_path = workdir / "locust.log"
    print(f"locust: {args.users} users, {ramp} s ramp, {args.duration} s measured", flush=True)
    before_cpu, before_child = cpu_busy_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        code = proc.wait(timeout=ramp + args.duration + 120)
    finally:
        stop_group(proc)
    elapsed = time.monotonic() - started
    after_cpu, after_child = cpu_busy_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
    locust_cpu = (after_child.ru_utime + after_child.ru_stime) - (
        before_child.ru_utime + before_child.ru_stime
    )
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"locust wrote no stats (exit {code}):\n{tail(log_path)}")
    machine = None
    if before_cpu and after_cpu and after_cpu[1] > before_cpu[1]:
        machine = 100.0 * (after_cpu[0] - before_cpu[0]) / (after_cpu[1] - before_cpu[1])
    return {
        "prefix": prefix,
        "exit_code": code,
        "machine_cpu_percent": machine,
        "locust_cpu_percent_of_one_core": 100.0 * locust_cpu / elapsed,
    }


def read_stats(prefix: Path) -> dict[str, dict[str, Any]]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return {name: _row(rows[name]) for name in ROWS if name in rows}


def _row(row: dict[str, str]) -> dict[str, Any]:
    def ms(key: str) -> float | None:
        return None if row[key] in ("", "N/A") else float(row[key])

    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": round(float(row["Requests/s"]), 1),
        "p50_ms": ms("50%"),
        "p95_ms": ms("95%"),
        "p99_ms": ms("99%"),
    }


def read_failures(prefix: Path) -> list[dict[str, str]]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def print_table(stats: dict[str, dict[str, Any]]) -> None:
    header = f"{'endpoint':<11}{'requests':>10}{'failures':>10}{'req/s':>9}"
    print(header + f"{'P50 ms':>9}{'P95 ms':>9}{'P99 ms':>9}")
    for name, row in stats.items():

        def cell(key: str, row: dict[str, Any] = row) -> str:
            return "n/a" if row[key] is None else f"{row[key]:.0f}"

        line = f"{name:<11}{row['requests']:>10}{row['failures']:>10}{row['rps']:>9.1f}"
        print(line + f"{cell('p50_ms'):>9}{cell('p95_ms'):>9}{cell('p99_ms'):>9}")


def report(args: argparse.Namespace, database: str, run: dict[str, Any]) -> dict[str, Any]:
    stats = read_stats(run["prefix"])
    failures = read_failures(run["prefix"])
    print()
    print(f"users={args.users} duration={args.duration}s workers={args.workers} db={database}")
    print_table(stats)
    for failure in failures[:5]:
        print(
            f"failure: {failure['Method']} {failure['Name']} x{failure['Occurrences']}: "
            f"{failure['Error']}"
        )
    if run["machine_cpu_percent"] is not None:
        print(
            f"machine CPU busy: {run['machine_cpu_percent']:.0f}% of {os.cpu_count()} cores; "
            f"locust itself: {run['locust_cpu_percent_of_one_core']:.0f}% of one core"
        )
    print(ROUNDING_NOTE)
    return {
        "users": args.users,
        "duration_s": args.duration,
        "workers": args.workers,
        "database": database,
        "endpoints": stats,
        "failures": failures,
        "locust_exit_code": run["exit_code"],
        "machine_cpu_percent": run["machine_cpu_percent"],
        "locust_cpu_percent_of_one_core": run["locust_cpu_percent_of_one_core"],
        "note": ROUNDING_NOTE,
    }


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    database = "postgresql" if database_url.startswith("postgres") else "sqlite"
    secret = secrets.token_urlsafe(32)
    port = free_port()
    with running_server(database_url, secret, args.workers, port, workdir / "server.log") as url:
        tokens = mint_tokens(secret, args.users, ttl_seconds=args.duration + 3600)
        (workdir / "tokens.json").write_text(json.dumps(tokens), encoding="utf-8")
        seed_tasks(url, tokens, args.seed_per_user)
        run = run_locust(url, args, workdir)
    return report(args, database, run)


def main() -> int:
    args = parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored
        signal.signal(sig, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="taskora-bench-"))
    try:
        result = benchmark(args, workdir)
    except KeyboardInterrupt:
        print("interrupted; the server was stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
