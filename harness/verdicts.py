"""Verdicts: what each success criterion measured and decided, and the run's report model (the
criteria themselves are named in ``harness.criteria``).

``Report`` is what ``report.json`` holds (schema ``taskora-harness/report/v1``); the JUnit and
HTML reports are rendered from it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "REPORT_SCHEMA",
    "Report",
    "Sample",
    "Verdict",
    "VerdictValue",
]

REPORT_SCHEMA = "taskora-harness/report/v1"
VerdictValue = Literal["pass", "fail", "skip", "error"]


@dataclass(frozen=True)
class Sample:
    """One raw measurement: a label (what was measured) and its value in the criterion's unit."""

    label: str
    value: float


@dataclass
class Verdict:
    id: str
    title: str
    verdict: VerdictValue
    threshold: float | None = None
    measured: float | None = None
    unit: str = ""
    reason: str = ""
    samples: list[Sample] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["measured"] = _finite(self.measured)
        data["threshold"] = _finite(self.threshold)
        data["samples"] = [[s.label, s.value] for s in self.samples if math.isfinite(s.value)]
        data["details"] = _json_safe(self.details)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        known = {f.name for f in fields(cls)}
        samples = [Sample(str(label), float(value)) for label, value in data.get("samples", [])]
        return cls(
            **{k: v for k, v in data.items() if k in known and k != "samples"}, samples=samples
        )


def _finite(value: float | None) -> float | None:
    """JSON has no inf or NaN: a measurement that never completed is written as null."""
    return value if value is None or math.isfinite(value) else None


def _json_safe(value: Any) -> Any:
    """Plain JSON values only: non-finite floats become null, other objects their text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


@dataclass
class Report:
    target: str
    profile: str
    started_at: datetime
    finished_at: datetime
    criteria: list[Verdict]
    schema: str = REPORT_SCHEMA
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Literal["pass", "fail", "error"]:
        """pass only when every criterion that applies passed and at least one did: a run
        that judged nothing is an error, never a pass."""
        values = {v.verdict for v in self.criteria}
        if "error" in values:
            return "error"
        if "fail" in values:
            return "fail"
        return "pass" if "pass" in values else "error"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "target": self.target,
            "profile": self.profile,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "verdict": self.verdict,
            "criteria": [v.to_json() for v in self.criteria],
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(
            target=data["target"],
            profile=data["profile"],
            started_at=datetime.fromisoformat(data["started_at"]),
            finished_at=datetime.fromisoformat(data["finished_at"]),
            criteria=[Verdict.from_json(v) for v in data["criteria"]],
            schema=data.get("schema", REPORT_SCHEMA),
            details=data.get("details", {}),
        )

    def __post_init__(self) -> None:
        self.details = _json_safe(self.details)
