"""Rendering Kustomize layouts for the manifest tests: ``render(directory)`` runs
``kubectl kustomize`` and returns the objects it prints."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

__all__ = [
    "KUBERNETES_VERSION",
    "KUBECTL",
    "ROOT",
    "Object",
    "arg_after",
    "component_metadata",
    "components_of_type",
    "containers",
    "is_custom",
    "named",
    "of_kind",
    "pod_templates",
    "pods_selected",
    "render",
    "selects",
    "service_for",
]

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


Object = dict[str, Any]

KUBERNETES_VERSION = "1.34"  # what DigitalOcean Kubernetes and kind currently run
CRD_GROUPS = ("dapr.io/", "cert-manager.io/")
POD_OWNERS = ("Deployment", "StatefulSet", "Job")


def is_custom(obj: Object) -> bool:
    """Whether the object is of a custom resource (Dapr, cert-manager) rather than a built-in."""
    return str(obj["apiVersion"]).startswith(CRD_GROUPS)


def named(objects: list[Object], kind: str, name: str) -> Object:
    """The one object of ``kind`` called ``name``."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def of_kind(objects: list[Object], kind: str) -> list[Object]:
    return [o for o in objects if o["kind"] == kind]


def pod_templates(objects: list[Object]) -> list[tuple[Object, Object]]:
    """(owner, pod template) for every Deployment, StatefulSet and Job."""
    return [(o, o["spec"]["template"]) for o in objects if o["kind"] in POD_OWNERS]


def containers(pod_spec: Object, *, init: bool = True) -> list[Object]:
    return list(pod_spec["containers"]) + (list(pod_spec.get("initContainers", [])) if init else [])


def selects(selector: Object, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions In/Exists) matches ``labels``."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        if operator == "In" and labels.get(key) not in expression["values"]:
            return False
        if operator == "Exists" and key not in labels:
            return False
    return True


def pods_selected(objects: list[Object], selector: Object) -> list[Object]:
    """The owners whose pods a selector picks out."""
    return [
        owner
        for owner, template in pod_templates(objects)
        if selects(selector, template["metadata"].get("labels", {}))
    ]


def arg_after(args: list[str], flag: str) -> str:
    assert flag in args, f"{flag} missing from {args}"
    return args[args.index(flag) + 1]


def components_of_type(objects: list[Object], prefix: str) -> list[Object]:
    return [o for o in of_kind(objects, "Component") if o["spec"]["type"].startswith(prefix)]


def component_metadata(component: Object) -> dict[str, str]:
    return {m["name"]: m.get("value") for m in component["spec"]["metadata"]}


def service_for(objects: list[Object], address: str) -> Object:
    """The Service (in this render) an address ``host[.namespace[.svc...]]:port`` reaches."""
    host, port = address.rsplit(":", 1)
    name, *rest = host.split(".")
    assert not rest or rest[0] == "taskora", f"{address} is outside the taskora namespace"
    service = named(objects, "Service", name)
    assert int(port) in [p["port"] for p in service["spec"]["ports"]], address
    return service
