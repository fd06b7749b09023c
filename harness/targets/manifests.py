"""A rendered Kustomize overlay pointed at the image and the namespace of one deployment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["retarget_manifest"]

NAMESPACE = "taskora"  # the manifests' own namespace


def _is_taskora(container: dict[str, Any]) -> bool:
    image = str(container.get("image", ""))
    return container.get("name") == "taskora" or image.split("/")[-1].split(":")[0] == "taskora"


def _pod_specs(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "Pod":
        yield spec
    elif doc.get("kind") == "CronJob":
        yield (
            ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec", {})
        )
    elif isinstance(spec.get("template"), dict):
        yield spec["template"].get("spec") or {}


def retarget_manifest(text: str, image: str, namespace: str) -> str:
    """The rendered overlay with ``image`` on every taskora container (and init container), and
    every object, service account subject and in-cluster DNS name in ``namespace`` instead of
    the manifests' own (``taskora``)."""
    import yaml

    text = text.replace(f".{NAMESPACE}.svc", f".{namespace}.svc")
    docs = [doc for doc in yaml.safe_load_all(text) if doc]
    for doc in docs:
        metadata = doc.setdefault("metadata", {})
        if doc.get("kind") == "Namespace":
            metadata["name"] = namespace
        elif "namespace" in metadata:
            metadata["namespace"] = namespace
        for subject in doc.get("subjects") or []:
            if subject.get("namespace") == NAMESPACE:
                subject["namespace"] = namespace
        for pod in _pod_specs(doc):
            for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
                if _is_taskora(container):
                    container["image"] = image
    return yaml.safe_dump_all(docs, sort_keys=False)
