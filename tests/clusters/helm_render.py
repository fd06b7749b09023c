"""Rendering the Helm chart under clusters/helm/taskora offline, with Helm's own template engine
(the Go SDK, through helm-python-sdk): ``render(values_file)`` returns the objects a
``helm template`` would print, ``values_of(values_file)`` the values a ``-f`` file gives."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

try:
    import helm_python
except ImportError:
    if os.environ.get("CI"):
        raise ImportError(
            "CI runs the Helm chart tests: install helm-python-sdk (pip install -e '.[dev]')"
        ) from None
    pytest.skip(
        "helm-python-sdk not installed: the Helm chart cannot be rendered", allow_module_level=True
    )

__all__ = ["CHART", "NAMESPACE", "chart", "helm_python", "render", "values_of"]

CHART = Path(__file__).resolve().parents[2] / "clusters" / "helm" / "taskora"
NAMESPACE = "taskora"


@cache
def chart() -> helm_python.Chart:
    """The chart, loaded once per test session (charts are immutable)."""
    return helm_python.Chart.load(CHART)


def values_of(values_file: str | None) -> dict[str, Any]:
    """The values a ``-f <values_file>`` (a file in the chart directory) passes."""
    if values_file is None:
        return {}
    return yaml.safe_load((CHART / values_file).read_text()) or {}


def render(
    values: dict[str, Any], *, name: str = "taskora", namespace: str = NAMESPACE
) -> list[dict[str, Any]]:
    """The objects the chart renders for ``values`` (over its defaults), NOTES.txt left out."""
    manifests = chart().render(values, name=name, namespace=namespace)
    return [
        obj
        for path, text in sorted(manifests.items())
        if not path.endswith("NOTES.txt")
        for obj in yaml.safe_load_all(text)
        if obj
    ]
