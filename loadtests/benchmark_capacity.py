"""Capacity benchmark: requests/s of taskora's hot endpoints beside a bare FastAPI app, one run.

Run from the repository root with the service installed (``pip install -e .``) and Debian's
``wrk`` (``apt-get install wrk``)::

    python loadtests/benchmark_capacity.py [--workers 2] [--duration 15] [--connections 64]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test] [--no-postgres] [--out FILE]

In one run it starts, one after the other, each on a free port of 127.0.0.1:

1. ``loadtests/bare_app.py`` under uvicorn with ``--workers`` workers (the ceiling: FastAPI and
   uvicorn answering the list's shape from memory);
2. ``taskora serve --workers N`` on a fresh SQLite file;
3. the same on a fresh PostgreSQL database (created in the server at ``--postgres-url``, dropped
   afterwards; skipped with a note when the server does not answer).

For each service it seeds one user with 40 tasks and runs ``wrk`` (1 thread, ``--connections``
connections, ``--duration`` seconds) against ``GET /api/tasks?limit=20``, ``GET
/api/tasks/{id}``, ``POST /api/tasks`` and ``GET /health``, then prints requests/s, wrk's
latency percentiles, non-2xx answers and each figure as a ratio of the bare app's list. The
machine's load average is printed beside the figures: on two cores a second busy process halves
them. This is a benchmark, not a test: it judges nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark_core import HOST, free_port, mint_tokens, running_server, serving  # noqa: E402

SEEDED_TASKS = 40
ENDPOINTS = ("list", "get", "create", "health")
WRK_LUA = """
wrk.method = "POST"
wrk.body = '{"title": "capacity", "priority": "high", "tags": ["bench", "wrk"]}'
wrk.headers["Content-Type"] = "application/json"
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="server workers (default 2)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TASKORA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/test"),
        help="a PostgreSQL server where a throwaway database may be created",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite and bare app only")
    parser.add_argument("--out", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args()
    if args.workers < 1 or args.duration < 1 or args.connections < 1:
        parser.error("--workers, --duration and --connections must be positive")
    return args


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, latency percentiles (ms), non-2xx answers and socket errors from wrk."""
    result: dict[str, Any] = {"non_2xx": 0, "socket_errors": 0}
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result["rps"] = float(match.group(1))
    for pct in ("50", "90", "99"):
        if match := re.search(rf"^\s+{pct}%\s+(\S+)", output, re.MULTILINE):
            result[f"p{pct}_ms"] = round(_ms(match.group(1)), 2)
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result["non_2xx"] = int(match.group(1))
    if match := re.search(r"Socket errors: (.*)", output):
        result["socket_errors"] = sum(int(n) for n in re.findall(r"\d+", match.group(1)))
    return result


def wrk(url: str, args: argparse.Namespace, *, token: str | None, script: Path | None) -> dict:
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)


@contextmanager
def bare_app(workers: int, log_path: Path) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "loadtests.bare_app:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]
    with serving(command, port, log_path, cwd=ROOT) as base_url:
        yield base_url


@contextmanager
def throwaway_postgres(server_url: str) -> Iterator[str | None]:
    """A fresh database in the PostgreSQL server, dropped afterwards; None if it is not there."""
    try:
        admin = psycopg.connect(server_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}", flush=True)
        yield None
        return
    name = f"taskora_capacity_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            info = admin.info
            yield f"postgresql://{info.user}@{info.host}:{info.port}/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def seed(base_url: str, token: str) -> int:
    """One user's 40 tasks; returns the id of one of them."""
    headers = {"Authorization": f"Bearer {token}"}
    task_id = 0
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        for n in range(SEEDED_TASKS):
            body = {
                "title": f"seeded {n}",
                "priority": "medium",
                "tags": ["seed", f"t{n % 4}"],
                "due_at": "2027-01-01T09:00:00Z",
                "description": "a seeded task",
            }
            response = http.post("/api/tasks", json=body)
            response.raise_for_status()
            task_id = response.json()["id"]
    return task_id


def measure_taskora(
    database_url: str, args: argparse.Namespace, workdir: Path, name: str
) -> dict[str, dict]:
    secret = secrets.token_urlsafe(32)
    log_path = workdir / f"{name}.log"
    with running_server(database_url, secret, args.workers, free_port(), log_path) as base_url:
        token = mint_tokens(secret, 1, ttl_seconds=3600)[0]
        task_id = seed(base_url, token)
        script = workdir / "create.lua"
        script.write_text(WRK_LUA, encoding="utf-8")
        targets = {
            "list": (f"{base_url}/api/tasks?limit=20", None),
            "get": (f"{base_url}/api/tasks/{task_id}", None),
            "create": (f"{base_url}/api/tasks", script),
            "health": (f"{base_url}/health", None),
        }
        results = {}
        for endpoint, (url, lua) in targets.items():
            results[endpoint] = wrk(url, args, token=token, script=lua)
            print(
                f"  {name:<10} {endpoint:<7} {results[endpoint].get('rps', 0):>9.0f} req/s",
                flush=True,
            )
    return results


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def print_table(results: dict[str, Any]) -> None:
    bare = results["bare"]["list"].get("rps") or 0.0
    services = [name for name in ("sqlite", "postgres") if name in results]
    header = f"{'endpoint':<10}" + "".join(
        f"{s + ' req/s':>16}{'ratio':>8}{'p99 ms':>9}" for s in services
    )
    print(f"\nbare app list: {bare:.0f} req/s (p99 {results['bare']['list'].get('p99_ms')} ms)")
    print(header)
    for endpoint in ENDPOINTS:
        line = f"{endpoint:<10}"
        for service in services:
            row = results[service][endpoint]
            ratio = row.get("rps", 0.0) / bare if bare else 0.0
            line += f"{row.get('rps', 0):>16.0f}{ratio:>7.2f}x{row.get('p99_ms', 0):>9.1f}"
            if row["non_2xx"] or row["socket_errors"]:
                line += f" ({row['non_2xx']} non-2xx, {row['socket_errors']} socket errors)"
        print(line)
    print(f"load average after the run: {load_average()}")


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    print(f"load average before the run: {load_average()}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="taskora-capacity-"))
    results: dict[str, Any] = {
        "workers": args.workers,
        "duration_s": args.duration,
        "connections": args.connections,
        "load_before": os.getloadavg(),
    }
    try:
        with bare_app(args.workers, workdir / "bare.log") as base_url:
            results["bare"] = {"list": wrk(f"{base_url}/api/tasks", args, token=None, script=None)}
            print(f"  {'bare':<10} {'list':<7} {results['bare']['list'].get('rps', 0):>9.0f} req/s")
        results["sqlite"] = measure_taskora(
            f"sqlite:///{workdir / 'capacity.db'}", args, workdir, "sqlite"
        )
        if not args.no_postgres:
            with throwaway_postgres(args.postgres_url) as url:
                if url:
                    results["postgres"] = measure_taskora(url, args, workdir, "postgres")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    print_table(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
