"""The harness's self-test: a harness that cannot fail is worthless.

The healthy local stack must pass; then, for each fault taskora can plant (its failpoints),
a validation must fail exactly the criterion that the fault breaks. Each case also runs OBS-001,
and the table names the project's alerts that went off on the fault, or says that no alert rule
covers it. Each case runs
``python -m harness validate`` in its own process against its own fresh stack; ``--jobs 3``
runs three cases at a time (most of a case is waiting: a stack starting, reminders coming due,
a killed worker coming back).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["CASES", "Case", "run_selftest"]


@dataclass(frozen=True)
class Case:
    name: str
    failpoints: str | None
    must_fail: str | None  # the criterion the fault must turn red; None: everything passes
    overrides: tuple[str, ...] = ()
    only: str | None = None  # pytest -k: the scenarios the case needs
    # SC-002's idle run must pass: the fault shows only under load, and is still caught
    fine_at_idle: bool = False
    alert: bool = False  # OBS-001 must fail too: the project's alert rules saw the fault


# A small load and one kill cycle: enough to tell a fault from health, quick enough to repeat.
# The full-size run is ``validate`` itself.
SMALL = (
    "sc008.users=100",
    "sc008.ramp_s=2",
    "sc008.hold_s=6",
    "sc008.ramp_down_s=1",
    "sc008.seed_per_user=1",
    "sc008.wait_min_s=1",
    "sc008.wait_max_s=2",
    "sc008.sse_every=50",
    "sc010.cycles=1",
)
ALERT_SEEN = re.compile(r"(?P<name>\S+) (?P<when>(?:pending|firing) after \d+ s)")  # OBS-001's
AT_IDLE = "sc002 and not under_load"  # SC-002's faults at idle, without a load stage

CASES = (
    Case("healthy stack", None, None, SMALL),
    Case("slow SSE delivery", "sse_delay=3", "SC-002", only=AT_IDLE),
    Case("dropped events", "drop_events=0.3", "SC-002", only=AT_IDLE),
    Case("lost acknowledged writes", "lose_writes=0.3", "SC-002", only=AT_IDLE),
    Case("one slow worker among several", "slow_worker=3", "SC-002", only=AT_IDLE),
    Case("slow only under load", "sse_delay=3,busy_above=10", "SC-002", SMALL, "sc002", True),
    Case("late reminders", "late_reminders=20", "SC-004", ("sc004.max_s=8",), "sc004"),
    Case("recurrence never created", "no_recurrence=1", "SC-003", ("sc003.max_s=5",), "sc003"),
    Case("next occurrence on the wrong day", "skew_recurrence=1", "SC-003", (), "sc003"),
    Case("5xx on some requests", "error_rate=0.2", "SC-007", (), "sc005 or sc007"),
    Case("5xx under load", "error_rate=0.02", "SC-008", SMALL, "sc008 or obs001", alert=True),
    Case("lost write under load", "lose_writes=0.5", "SC-008", SMALL, "sc008"),
    Case("slow endpoint", "slow_requests=600", "SC-009", SMALL, "sc009 or obs001", alert=True),
    Case("lost write under chaos", "lose_writes=0.05", "SC-010", SMALL, "sc010"),
    Case("lost write without a key", "lose_keyless=0.05", "SC-010", SMALL, "sc010"),
    Case("dropped event under chaos", "lose_events=0.05", "SC-010", SMALL, "sc010"),
    Case("delete events dropped", "lose_deletes=1", "SC-010", SMALL, "sc010"),
    Case("owner check skipped", "skip_owner_check=1", "SEC-001", (), "sec001"),
)


def _validate(case: Case, report_dir: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    command = [sys.executable, "-m", "harness", "validate", "--report-dir", str(report_dir)]
    if case.failpoints:
        command += ["--failpoints", case.failpoints]
    for override in case.overrides:
        command += ["--set", override]
    if case.only:  # OBS-001 too: which of the project's alerts saw the fault
        command += ["-k", f"{case.only} or obs001"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    report = report_dir / "report.json"
    if not report.is_file():
        return result.returncode, {}
    criteria = json.loads(report.read_text())["criteria"]
    return result.returncode, {c["id"]: c for c in criteria}


def _fine_at_idle(sc002: dict[str, Any]) -> bool:
    idle = sc002.get("details", {}).get("idle_slowest_s")
    return idle is not None and idle <= sc002["threshold"]


def _alerts(criteria: dict[str, dict[str, Any]]) -> str:
    """The alerts OBS-001 saw go off; "uncovered" when a fault raised none."""
    obs = criteria.get("OBS-001")
    if obs is None or obs["verdict"] == "skip":
        return "-"
    went_off: dict[str, list[str]] = {}  # alert -> "pending after 12 s", "firing after 301 s"
    for alert in obs["details"].get("alerts", []):
        if match := ALERT_SEEN.match(alert):
            went_off.setdefault(match["name"], []).append(match["when"])
    return (
        ", ".join(
            f"{name} ({', '.join(sorted(whens, key=_seconds))})"
            for name, whens in sorted(went_off.items())
        )
        or "none"
    )


def _seconds(when: str) -> float:
    return float(when.split()[-2])


def _caught(case: Case, code: int, criteria: dict[str, dict[str, Any]]) -> bool:
    verdicts = {name: c["verdict"] for name, c in criteria.items()}
    if case.must_fail is None:
        return code == 0 and verdicts != {} and "fail" not in verdicts.values()
    if case.fine_at_idle and not _fine_at_idle(criteria.get("SC-002", {"threshold": 0})):
        return False
    alerted = not case.alert or verdicts.get("OBS-001") == "fail"
    return code == 1 and verdicts.get(case.must_fail) == "fail" and alerted


def run_selftest(console: Console, report_root: Path, jobs: int = 1) -> int:
    """Every case; ``jobs`` of them at a time (each is its own stack on its own ports)."""
    table = Table(title="taskora-harness self-test: every planted fault must be caught")
    for column in ("case", "failpoints", "expected", "exit", "verdicts", "alerts", "result"):
        table.add_column(column, overflow="fold")

    def run(case: Case) -> tuple[int, dict[str, dict[str, Any]]]:
        console.print(f"self-test: {case.name} ...")
        outcome = _validate(case, report_root / case.name.replace(" ", "-"))
        console.print(f"self-test: {case.name}: exit {outcome[0]}")
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outcomes = list(pool.map(run, CASES))
    all_caught = True
    for case, (code, criteria) in zip(CASES, outcomes, strict=True):
        caught = _caught(case, code, criteria)
        all_caught &= caught
        verdicts = sorted((name, c["verdict"]) for name, c in criteria.items())
        shown = ", ".join(f"{k}={v}" for k, v in verdicts if v != "skip")
        expected = f"{case.must_fail} fails" if case.must_fail else "all pass"
        expected += " (and OBS-001: an alert)" if case.alert else ""
        result = "[green]ok[/]" if caught else "[bold red]NOT CAUGHT[/]"
        alerts = _alerts(criteria)
        if case.failpoints and alerts == "none":
            alerts = "[yellow]uncovered: no alert rule saw it[/]"
        table.add_row(case.name, case.failpoints or "-", expected, str(code), shown, alerts, result)
    console.print(table)
    return 0 if all_caught else 1
