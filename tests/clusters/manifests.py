"""Rendering Kustomize layouts for the manifest tests: ``render(directory)`` runs
``kubectl kustomize`` and returns the objects it prints."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

__all__ = ["KUBECTL", "ROOT", "render"]

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")

if KUBECTL is None:
    pytest.skip("kubectl not installed: the manifests cannot be rendered", allow_module_level=True)


def render(directory: Path, *, load_restrictor: bool = True) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize <directory>`` renders, in order."""
    command = [str(KUBECTL), "kustomize", str(directory)]
    if not load_restrictor:
        command[2:2] = ["--load-restrictor", "LoadRestrictionsNone"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed: {result.stderr.strip()}")
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]
