"""Benchmark for the load target: 1000 users with 1-3 s think time against the local target,
and the same load, list reads only, against taskora and a bare FastAPI/uvicorn app.

Run from the repository root with the ``harness`` and ``load`` extras installed::

    python loadtests/benchmark_load.py [--database-url URL] [--users 1000] [--hold 60]
        [--ramp 30] [--workers 2] [--out result.json]

Three Locust runs (each in its own process, as the harness runs it): (1) the realistic mix
against ``taskora serve`` (a fresh SQLite file unless ``--database-url``); (2) the same shape,
every user only listing its tasks, against taskora; (3) the same against
``loadtests/bare_app.py`` under uvicorn with as many workers. It prints P50/P95/P99 per endpoint,
requests/s, failures, and taskora's list-read throughput as a ratio of the bare app's.
This is a benchmark, not a test: it judges nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.api import (  # noqa: E402
    RESOLUTION_NOTE,
    Deployment,
    LoadPlan,
    LoadRun,
    LocalTarget,
    free_port,
    run_load,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL (or another SQLite file) to use")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--ramp", type=float, default=30.0, help="seconds to ramp up")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds at the peak")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--out", type=Path, help="also write the results here as JSON")
    return parser.parse_args()


def plan(args: argparse.Namespace, *, sse_every: int) -> LoadPlan:
    return LoadPlan(
        users=args.users,
        ramp_s=args.ramp,
        hold_s=args.hold,
        ramp_down_s=5.0,
        wait_min_s=1.0,
        wait_max_s=3.0,
        sse_every=sse_every,
        seed_per_user=5,
        processes=0,
    )


def summary(run: LoadRun) -> dict[str, Any]:
    stats = run.stats
    return {
        "peak_users": stats.peak_users,
        "held_s": stats.held_s,
        "requests_per_s": round(stats.total.rps, 1),
        "failure_ratio": stats.failure_ratio,
        "p50_ms": stats.total.p50_ms,
        "p95_ms": stats.total.p95_ms,
        "p99_ms": stats.total.p99_ms,
        "endpoints": [e.to_json() for e in stats.endpoints],
        "locust_cpu_warnings": run.cpu_warnings,
    }


def show(title: str, run: LoadRun) -> None:
    stats = run.stats
    print(
        f"\n{title}: {stats.peak_users} users held {stats.held_s:.0f} s, "
        f"{stats.total.rps:.1f} req/s, failures {stats.failure_ratio:.4%}"
    )
    print(f"{'endpoint':<15}{'requests':>9}{'fail':>6}{'req/s':>8}{'P50':>7}{'P95':>7}{'P99':>7}")
    for e in [*stats.endpoints, stats.total]:
        cells = [f"{v:.0f}" if v is not None else "-" for v in (e.p50_ms, e.p95_ms, e.p99_ms)]
        print(
            f"{e.name:<15}{e.requests:>9}{e.failures:>6}{e.rps:>8.1f}"
            + "".join(f"{c:>7}" for c in cells)
        )


def on_taskora(args: argparse.Namespace, directory: Path, name: str, sse_every: int) -> LoadRun:
    target = LocalTarget(workers=args.workers, database_url=args.database_url)
    deployment = target.up()
    try:
        return run_load(deployment, plan(args, sse_every=sse_every), directory / name, name)
    finally:
        target.down()


def on_bare(args: argparse.Namespace, directory: Path) -> LoadRun:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "loadtests.bare_app:app",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base_url}/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        deployment = Deployment("bare", base_url, token=lambda user: "unused")
        return run_load(deployment, plan(args, sse_every=0), directory / "bare", "bare")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def main() -> int:
    args = parse_args()
    database = "postgresql" if (args.database_url or "").startswith("postgres") else "sqlite"
    os.environ["TASKORA_LOAD_ONLY_LIST"] = "0"
    with tempfile.TemporaryDirectory(prefix="taskora-load-bench-") as tmp:
        directory = Path(tmp)
        mix = on_taskora(args, directory, "mix", sse_every=100)
        show(f"taskora ({database}), realistic mix", mix)
        os.environ["TASKORA_LOAD_ONLY_LIST"] = "1"
        lists = on_taskora(args, directory, "list", sse_every=0)
        show(f"taskora ({database}), list only", lists)
        bare = on_bare(args, directory)
        show("bare FastAPI/uvicorn, list only", bare)
    ratio = lists.stats.total.rps / bare.stats.total.rps if bare.stats.total.rps else 0.0
    print(
        f"\ntaskora list-read throughput / bare uvicorn: {ratio:.2f} "
        f"({lists.stats.total.rps:.1f} / {bare.stats.total.rps:.1f} req/s)"
    )
    print(RESOLUTION_NOTE)
    if args.out:
        result = {
            "database": database,
            "users": args.users,
            "hold_s": args.hold,
            "workers": args.workers,
            "mix": summary(mix),
            "list": summary(lists),
            "bare": summary(bare),
            "list_ratio": ratio,
            "note": RESOLUTION_NOTE,
        }
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
