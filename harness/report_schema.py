"""The document ``report.json`` is: the pydantic models every report is checked against when
written and when read back, and the JSON Schema published from them
(``harness/schemas/report-v1.json``; ``python -m harness schema`` prints it).

A tool that reads reports (a CI step, a dashboard) can validate against the published file;
the suite checks that the file is what these models generate and that written reports pass it.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SCHEMA_FILE", "ReportDocument", "VerdictDocument", "schema_text"]

SCHEMA_FILE = Path(__file__).parent / "schemas" / "report-v1.json"
SCHEMA_ID = "taskora-harness/report/v1"


class VerdictDocument(BaseModel):
    """One success criterion: what was measured, against which threshold, and the verdict."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^(SC|SEC|OBS)-\d{3}$", description="the criterion, e.g. SC-009")
    title: str
    verdict: Literal["pass", "fail", "skip", "error"]
    threshold: float | None = Field(description="null where the criterion has none")
    measured: float | None = Field(description="in `unit`; null when nothing was measured")
    unit: str = Field(description="of measured and threshold: s, ms, ratio or count")
    reason: str = Field(description="why it failed or was skipped, or what it measured")
    samples: list[tuple[str, float]] = Field(description="raw measurements: [label, value]")
    details: dict[str, Any] = Field(description="criterion-specific figures")
    duration_s: float = Field(ge=0, description="time its tests took, fixtures included")


class ReportDocument(BaseModel):
    """A validation run: ``report.json`` in the report directory."""

    model_config = ConfigDict(extra="forbid", title="taskora-harness report")

    schema_: Literal["taskora-harness/report/v1"] = Field(alias="schema")
    target: str
    profile: str
    started_at: datetime
    finished_at: datetime
    verdict: Literal["pass", "fail", "error"] = Field(
        description="pass only when every criterion that applies passed and at least one did"
    )
    criteria: list[VerdictDocument]
    details: dict[str, Any]


def schema_text() -> str:
    """The JSON Schema of ``report.json``, as published in ``SCHEMA_FILE``."""
    schema = ReportDocument.model_json_schema(by_alias=True)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    return json.dumps(schema, indent=2) + "\n"
