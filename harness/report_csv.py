"""``samples/<id>.csv``: the raw samples of one criterion, a label and a value per row."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from harness.verdicts import Verdict

__all__ = ["write_samples"]

_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def write_samples(verdict: Verdict, directory: Path) -> Path:
    """Write the samples of ``verdict`` to ``directory/<id>.csv``; that path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{_FILE_UNSAFE.sub('_', verdict.id) or 'criterion'}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(("label", "value"))
        writer.writerows((s.label, repr(s.value)) for s in verdict.samples)
    return path
