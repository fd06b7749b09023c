"""The success criteria the harness judges: an id, a title and the unit of the measured value
and its threshold.

Each criterion is a suite in ``scenarios/`` (``test_sc002_sync.py`` for SC-002) whose threshold,
where it has one, is read from the profile's section of the same name (``[sc002]`` in
``harness/profiles/*.toml``); its verdict is a ``harness.verdicts.Verdict``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CRITERIA", "Criterion"]


@dataclass(frozen=True)
class Criterion:
    id: str  # "SC-002"
    title: str
    unit: str  # of the measured value and the threshold: "s", "ms", "ratio", "count"


CRITERIA: dict[str, Criterion] = {
    c.id: c
    for c in (
        Criterion("SC-001", "Deployment is ready within the time limit", "s"),
        Criterion("SC-002", "Changes reach every other client within the time limit", "s"),
        Criterion(
            "SC-003", "The next occurrence of a completed recurring task appears in time", "s"
        ),
        Criterion("SC-004", "Reminders are delivered on time", "s"),
        Criterion("SC-005", "The local stack starts within the time limit", "s"),
        Criterion("SC-006", "The release gate finishes within the time limit", "s"),
        Criterion("SC-007", "Availability over the whole run, chaos included", "ratio"),
        Criterion("SC-008", "Concurrent users are served without errors", "count"),
        Criterion("SC-009", "P95 response time under load", "ms"),
        Criterion("SC-010", "No acknowledged write or event is lost", "count"),
        Criterion("SEC-001", "No user reaches another user's data", "count"),
        Criterion("OBS-001", "The project's alert rules stay silent on a healthy run", "count"),
    )
}
