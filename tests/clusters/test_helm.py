"""The Helm chart under clusters/helm/taskora: it lints clean, every values file renders objects
that validate against the Kubernetes schemas, each cluster's values file renders the same
objects as the matching Kustomize overlay (differences listed below, each with its reason), and
the values schema turns bad values away at render time."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import kubernetes_validate
import pytest

from tests.clusters.helm_render import CHART, NAMESPACE, helm_python, render, values_of
from tests.clusters.manifests import KUBERNETES_VERSION, ROOT, Object, is_custom, named, of_kind
from tests.clusters.manifests import render as kustomize

OVERLAYS = ROOT / "clusters" / "k8s" / "overlays"
PAIRS = sorted(p.name for p in OVERLAYS.iterdir() if (CHART / f"values-{p.name}.yaml").is_file())
VALUES_FILES = [None, *sorted(p.name for p in CHART.glob("values-*.yaml"))]
# Labels Helm (and the chart, by convention) adds for its own bookkeeping
BOOKKEEPING = {
    "helm.sh/chart",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
}
HASHED_CONFIG = re.compile(r"^taskora-config-[a-z0-9]{10}$")
TASKORA_DEPLOYMENTS = ("taskora-api", "taskora-consumers", "taskora-scheduler")

Key = tuple[str, str]


@cache
def _kustomize(overlay: str) -> tuple[Object, ...]:
    return tuple(kustomize(OVERLAYS / overlay))


@cache
def _helm(values_file: str | None) -> tuple[Object, ...]:
    return tuple(render(values_of(values_file)))


def _unhash(node: Any) -> Any:
    """Kustomize's generated ConfigMap name (taskora-config-<hash>) and its references, unhashed."""
    if isinstance(node, dict):
        return {key: _unhash(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_unhash(value) for value in node]
    return "taskora-config" if isinstance(node, str) and HASHED_CONFIG.match(node) else node


def _without_bookkeeping(obj: Object) -> Object:
    obj = copy.deepcopy(obj)
    labels = {k: v for k, v in obj["metadata"].pop("labels", {}).items() if k not in BOOKKEEPING}
    if labels:
        obj["metadata"]["labels"] = labels
    return obj


def _by_key(objects: list[Object]) -> dict[Key, Object]:
    keyed = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    assert len(keyed) == len(objects), "two objects of one kind share a name"
    return keyed


# Deliberate differences between the chart and the Kustomize layout. Each is applied to the
# pair of objects (kustomize, helm) before they are compared, and checks that the difference
# is really there, so that an entry that no longer applies fails instead of lingering.
def _config_checksum(kustomized: Object, helm: Object) -> None:
    """Kustomize rolls the pods when the configuration changes through the ConfigMap's hashed
    name; the chart keeps the name and rolls them through a checksum annotation."""
    annotations = helm["spec"]["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{64}", annotations.pop("checksum/config"))


def _migrate_security_context(kustomized: Object, helm: Object) -> None:
    """The migrate init container shares the taskora container's security context, which also
    names runAsGroup and seccompProfile; the pod sets both to the same values, so the effective
    settings are the same."""
    (migrate,) = kustomized["spec"]["template"]["spec"]["initContainers"]
    pod = kustomized["spec"]["template"]["spec"]["securityContext"]
    assert "runAsGroup" not in migrate["securityContext"]
    migrate["securityContext"].update(
        runAsGroup=pod["runAsGroup"], seccompProfile=pod["seccompProfile"]
    )


def _part_of_label(kustomized: Object, helm: Object) -> None:
    """Kustomize's base label app.kubernetes.io/part-of does not reach objects from components
    and overlays (the in-cluster PostgreSQL, the ClusterIssuer); the chart labels every object."""
    targets = [kustomized["metadata"]]
    if "template" in kustomized.get("spec", {}):
        targets.append(kustomized["spec"]["template"]["metadata"])
    for metadata in targets:
        labels = metadata.setdefault("labels", {})
        assert "app.kubernetes.io/part-of" not in labels
        labels["app.kubernetes.io/part-of"] = "taskora"


def _topic_job_env_order(kustomized: Object, helm: Object) -> None:
    """Kustomize's patch of REPLICAS (DOKS) moves that variable to the front of the topic job's
    environment; no variable refers to another, so the order does not matter."""
    for obj in (kustomized, helm):
        (rpk,) = obj["spec"]["template"]["spec"]["containers"]
        rpk["env"] = sorted(rpk["env"], key=lambda e: e["name"])


Difference = Callable[[Object, Object], None]
DELIBERATE: dict[Key, list[Difference]] = {
    **{("Deployment", name): [_config_checksum] for name in TASKORA_DEPLOYMENTS},
    ("Deployment", "taskora-api"): [_config_checksum, _migrate_security_context],
    ("Service", "postgres"): [_part_of_label],
    ("StatefulSet", "postgres"): [_part_of_label],
    ("NetworkPolicy", "postgres-from-taskora"): [_part_of_label],
    ("ClusterIssuer", "letsencrypt"): [_part_of_label],
    ("NetworkPolicy", "acme-http01-solver"): [_part_of_label],
    ("Job", "redpanda-topics"): [_topic_job_env_order],
}


@pytest.fixture(params=PAIRS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_cluster_has_a_values_file() -> None:
    assert {"kind", "minikube", "doks"} <= set(PAIRS)


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_the_chart_lints_clean(values_file: str | None) -> None:
    report = helm_python.lint(
        CHART,
        values_of(values_file),
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{KUBERNETES_VERSION}.0",
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], report


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_every_built_in_object_validates_and_no_secret_is_created(
    values_file: str | None,
) -> None:
    objects = list(_helm(values_file))
    built_in = [o for o in objects if not is_custom(o)]
    assert len(built_in) > 20
    for obj in built_in:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    assert not of_kind(objects, "Secret"), "the chart must reference Secrets, never create them"


def test_the_chart_renders_what_the_overlay_renders(overlay: str) -> None:
    kustomized = _by_key(
        [_unhash(o) for o in _kustomize(overlay) if o["kind"] != "Namespace"]  # --create-namespace
    )
    helm = _by_key([_without_bookkeeping(o) for o in _helm(f"values-{overlay}.yaml")])
    assert sorted(helm) == sorted(kustomized)
    for key, differences in DELIBERATE.items():
        if key in kustomized:
            for difference in differences:
                difference(kustomized[key], helm[key])
    for key in sorted(kustomized):
        assert helm[key] == kustomized[key], f"{key} differs from the {overlay} overlay's"


def test_objects_keep_their_names_and_follow_the_release_namespace() -> None:
    values = values_of("values-doks.yaml")
    default = {(o["kind"], o["metadata"]["name"]) for o in _helm("values-doks.yaml")}
    objects = render(values, name="elsewhere", namespace="tasks")
    assert {(o["kind"], o["metadata"]["name"]) for o in objects} == default
    for obj in objects:
        expected = None if obj["kind"] == "ClusterIssuer" else "tasks"
        assert obj["metadata"].get("namespace") == expected, (obj["kind"], obj["metadata"])
    assert named(objects, "RoleBinding", "taskora-secret-reader")["subjects"][0]["namespace"] == (
        "tasks"
    )
    assert f".{NAMESPACE}.svc" not in repr(objects)
    assert ".tasks.svc.cluster.local:9092" in repr(named(objects, "Component", "pubsub"))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"pubsub": {"type": "nats"}}, "at '/pubsub/type': value must be one of 'redis', 'kafka'"),
        ({"roles": {"scheduler": {"replicas": -1}}}, "at '/roles/scheduler/replicas': minimum"),
        ({"redpanda": {"replicas": 0}}, "at '/redpanda/replicas': minimum"),
        ({"imagee": {"tag": "v1"}}, "additional properties 'imagee' not allowed"),
        ({"image": {"pullPolicy": "Sometimes"}}, "at '/image/pullPolicy'"),
        ({"roles": {"api": {"resources": {"limits": {"cpu": "lots"}}}}}, "limits/cpu"),
    ],
)
def test_the_values_schema_rejects_bad_values(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=re.escape(message)):
        render(values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"roles": {"api": {"autoscaling": {"minReplicas": 5}}}},
            "roles.api.autoscaling: minReplicas (5) is above maxReplicas (2)",
        ),
        (
            {"redpanda": {"topics": {"replicas": 3}}},
            "redpanda.topics.replicas (3) is above redpanda.replicas (1)",
        ),
    ],
)
def test_inconsistent_values_fail_the_render(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=re.escape(message)):
        render(values)
