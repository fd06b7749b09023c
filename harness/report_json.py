"""``report.json``: the run's report as the published schema has it (the source of truth the
other reports are rendered from), written and read back."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from harness.errors import UsageError
from harness.report_schema import SCHEMA_FILE, ReportDocument
from harness.verdicts import REPORT_SCHEMA, Report

__all__ = ["load_report", "write_json"]


def write_json(report: Report, path: Path) -> None:
    """Write ``report`` to ``path``, checked against the published schema first."""
    document = report.to_json()
    ReportDocument.model_validate(document)  # the published schema's shape, or a harness bug
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def load_report(directory: Path) -> Report:
    """Read ``directory/report.json`` back into a ``Report``."""
    path = directory / "report.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist: give the directory a harness run wrote") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} cannot be read as JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema", REPORT_SCHEMA) != REPORT_SCHEMA:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise UsageError(f"{path} is not a harness report (schema {schema!r}, not {REPORT_SCHEMA})")
    try:
        ReportDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(
            f"{path} does not follow {SCHEMA_FILE.name}: {where}: {first['msg']} "
            f"({exc.error_count()} errors)"
        ) from None
    return Report.from_json(data)
