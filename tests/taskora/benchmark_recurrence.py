"""Recurrence benchmark: what the next-occurrence search costs, for the rules the API accepts and
for those it refuses at the budget (``taskora.domain.recurrence.RULE_BUDGET``).

Run from the repository root with the service installed (``pip install -e .``)::

    python tests/taskora/benchmark_recurrence.py [--repeat 20] [--random 2000]

For each named rule it prints the median and worst CPU and wall time of ``next_occurrence`` (as
the consumer calls it, on the budget) and what it returned. ``--random`` rules are then drawn from
random RFC 5545 parts (hostile values included): of those ``check_series`` accepts, it prints the
slowest next-occurrence searches. The machine's load average is printed beside the figures. This
is a benchmark, not a test: it judges nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from taskora.domain.recurrence import RULE_BUDGET, RuleTooCostly, check_series, next_occurrence

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RULES = [  # (rule, current occurrence)
    ("FREQ=DAILY", START + timedelta(days=3000)),
    ("FREQ=MINUTELY", START + timedelta(days=730, minutes=7)),
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR", START + timedelta(days=400)),
    ("FREQ=MONTHLY", START + timedelta(days=3650)),
    ("FREQ=DAILY;COUNT=1000", START + timedelta(days=998)),
    ("FREQ=HOURLY;COUNT=1000;BYDAY=MO", START + timedelta(days=100)),
    ("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=29", START),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", START),
    ("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30", START),  # never: refused at the budget
    ("FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31", START),  # never
]
PARTS: list[Callable[[random.Random], str]] = [
    lambda r: f"INTERVAL={r.randint(-2, 1100)}",
    lambda r: f"COUNT={r.randint(-1, 1100)}",
    lambda r: f"BYSECOND={r.randint(0, 61)}",
    lambda r: f"BYMINUTE={','.join(str(r.randint(0, 60)) for _ in range(r.randint(1, 3)))}",
    lambda r: f"BYHOUR={','.join(str(r.randint(0, 24)) for _ in range(r.randint(1, 3)))}",
    lambda r: f"BYMONTHDAY={','.join(str(r.randint(-32, 32)) for _ in range(r.randint(1, 3)))}",
    lambda r: f"BYMONTH={','.join(str(r.randint(0, 13)) for _ in range(r.randint(1, 3)))}",
    lambda r: f"BYYEARDAY={r.randint(-367, 367)}",
    lambda r: f"BYWEEKNO={r.randint(-54, 54)}",
    lambda r: f"BYDAY={r.choice(['', '1', '-1', '2', '5', '53'])}{r.choice(['MO', 'FR', 'SU'])}",
    lambda r: f"BYSETPOS={r.choice([-1, 1, 2, 3])}",
]
FREQUENCIES = ["MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]


def _timed(rule: str, current: datetime) -> tuple[float, float, str]:
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        outcome = str(
            next_occurrence(rule, start=START, current=current, zone_name="Europe/Berlin")
        )
    except RuleTooCostly:
        outcome = "over budget (refused at the API, a dead letter in the consumer)"
    return (time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000, outcome


def _named(repeat: int) -> None:
    print(f"{'rule':46} {'cpu ms p50/max':>15} {'wall ms p50/max':>16}  next occurrence")
    for rule, current in RULES:
        runs = [_timed(rule, current) for _ in range(repeat)]
        cpu, wall = [r[0] for r in runs], [r[1] for r in runs]
        print(
            f"{rule:46} {statistics.median(cpu):6.2f} / {max(cpu):6.2f} "
            f"{statistics.median(wall):7.2f} / {max(wall):6.2f}  {runs[-1][2]}"
        )


def _random(count: int, seed: int) -> None:
    rng = random.Random(seed)
    accepted, costs = 0, []
    for _ in range(count):
        parts = rng.sample(PARTS, rng.randint(0, 4))
        rule = ";".join([f"FREQ={rng.choice(FREQUENCIES)}", *(part(rng) for part in parts)])
        try:
            check_series(rule, start=START, zone_name="Europe/Berlin")
        except ValueError:
            continue
        accepted += 1
        later = START + timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
        cpu, wall, outcome = _timed(rule, later)
        costs.append((cpu, wall, rule, outcome))
    costs.sort(reverse=True)
    over = sum(1 for c in costs if c[3].startswith("over budget"))
    print(
        f"\n{count} random rules: {accepted} accepted; next occurrence from a random later "
        f"point: {over} over budget, slowest:"
    )
    for cpu, wall, rule, outcome in costs[:5]:
        print(f"  cpu {cpu:6.2f} ms  wall {wall:6.2f} ms  {rule}  -> {outcome[:40]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--random", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"budget {RULE_BUDGET * 1000:.0f} ms CPU per search; load {load}, {os.cpu_count()} cores")
    _named(args.repeat)
    _random(args.random, args.seed)


if __name__ == "__main__":
    main()
