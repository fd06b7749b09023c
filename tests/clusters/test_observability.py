"""clusters/observability: the alert rules pass promtool and their unit tests, the PrometheusRule
matches the plain rules file, the Kustomize folder renders, and every metric and label the rules
and the dashboard use is one the service really exposes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from taskora.app import create_app
from taskora.auth import issue_token
from taskora.events import metrics as event_metrics
from taskora.settings import Settings
from tests.clusters.promql_text import grouping_labels, selectors
from tests.conftest import drain
from tests.factories import task_body

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "clusters" / "observability"
RULES = OBS / "rules" / "taskora.rules.yaml"
RULES_TEST = OBS / "rules" / "taskora.rules.test.yaml"
DASHBOARD = OBS / "grafana" / "taskora-dashboard.json"

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)"
)
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

# Labels the scrape adds to every Taskora series (PodMonitor defaults and podTargetLabels, or the
# relabelling in prometheus.yml), and the kube-state-metrics series the rules may use.
TARGET_LABELS = {"namespace", "pod", "component", "job", "instance", "container"}
KUBE_STATE_METRICS = {"kube_pod_container_status_restarts_total": {"namespace", "pod", "container"}}
# Prometheus's own series for every scrape target: 1 when the scrape answered.
SCRAPE_SERIES = {"up": TARGET_LABELS}
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def _rule_exprs() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Metric name -> label names, from GET /metrics of the service after real traffic."""
    database = tmp_path_factory.mktemp("metrics") / "t.db"
    settings = Settings(database_url=f"sqlite:///{database}", background=False, jwt_secret="x" * 32)
    auth = {"Authorization": f"Bearer {issue_token(settings, 'alice')}"}
    with TestClient(create_app(settings)) as client:
        assert client.post("/api/tasks", json=task_body(), headers=auth).status_code == 201
        assert client.get("/api/tasks", headers=auth).status_code == 200
        assert client.get("/api/tasks", headers={}).status_code == 401
        assert drain(client) >= 1  # the relay publishes the task.created event
        text = client.get("/metrics").text
    declared = {
        getattr(metric, "_name", None): set(getattr(metric, "_labelnames", ()))
        for metric in vars(event_metrics).values()
    }
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
        if not family.samples:  # a counter nobody has incremented yet: its declared labels
            suffix = "_total" if family.type == "counter" else ""
            names[family.name + suffix] = declared[family.name]
    return names


def _check(exprs: list[str], exposed: dict[str, set[str]]) -> list[str]:
    problems = []
    for expr in exprs:
        used: set[str] = set()
        for name, labels in selectors(expr):
            if name in KUBE_STATE_METRICS:
                available = KUBE_STATE_METRICS[name]
            elif name in SCRAPE_SERIES:
                available = SCRAPE_SERIES[name]
            elif name in exposed:
                available = exposed[name] | TARGET_LABELS
            else:
                problems.append(f"{name}: not exposed by the service ({expr.strip()[:80]})")
                continue
            if name.endswith("_bucket"):
                available = available | {"le"}
            used |= available
            problems += [f"{name} has no label {label!r}" for label in labels - available]
        problems += [
            f"no series has label {label!r} ({expr.strip()[:80]})"
            for label in grouping_labels(expr) - used
        ]
    return problems


def test_the_service_exposes_the_metrics_the_checks_rely_on(exposed: dict[str, set[str]]) -> None:
    assert {"method", "route", "status"} <= exposed["taskora_http_requests_total"]
    assert "taskora_http_request_duration_seconds_bucket" in exposed
    assert exposed["taskora_events_published_total"] == {"type"}
    assert exposed["taskora_events_dead_lettered_total"] == {"consumer", "topic"}


def test_every_metric_and_label_in_the_rules_exists(exposed: dict[str, set[str]]) -> None:
    names = {name for expr in _rule_exprs() for name, _ in selectors(expr)}
    assert {
        "taskora_http_requests_total",
        "taskora_http_request_duration_seconds_bucket",
        "taskora_outbox_lag_seconds",
        "taskora_events_dead_lettered_total",
        "kube_pod_container_status_restarts_total",
    } <= names
    assert _check(_rule_exprs(), exposed) == []


def test_every_metric_and_label_in_the_dashboard_exists(exposed: dict[str, set[str]]) -> None:
    names = {name for expr in _dashboard_exprs() for name, _ in selectors(expr)}
    wanted = {
        "taskora_http_requests_total",
        "taskora_http_request_duration_seconds_bucket",
        "taskora_outbox_lag_seconds",
        "taskora_events_published_total",
        "taskora_events_consumed_total",
        "taskora_events_retried_total",
        "taskora_events_dead_lettered_total",
        "taskora_sse_connections",
        "kube_pod_container_status_restarts_total",
    }
    assert wanted <= names
    assert _check(_dashboard_exprs(), exposed) == []
    titles = " ".join(p["title"] for p in json.loads(DASHBOARD.read_text())["panels"])
    assert all(f"P{q} latency by route" in titles for q in (50, 95, 99))


def test_the_checker_catches_a_renamed_metric_and_a_missing_label(
    exposed: dict[str, set[str]],
) -> None:
    assert _check(["rate(taskora_http_request_total[5m])"], exposed)
    assert _check(['taskora_outbox_lag_seconds{route="/x"}'], exposed)
    assert _check(["sum by (tenant) (taskora_sse_connections)"], exposed)
    assert not _check(["sum by (namespace) (taskora_sse_connections)"], exposed)


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    result = _run("promtool", "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 9 rules found" in result.stdout


@needs_promtool
def test_the_alerts_fire_on_failures_and_stay_silent_when_healthy() -> None:
    tests = yaml.safe_load(RULES_TEST.read_text())["tests"]
    exercised = {
        t["alertname"] for case in tests for t in case["alert_rule_test"] if t["exp_alerts"]
    }
    silent = {
        t["alertname"] for case in tests for t in case["alert_rule_test"] if not t["exp_alerts"]
    }
    assert {
        "TaskoraHighErrorRate",
        "TaskoraOutboxLag",
        "TaskoraConsumerRetrying",
        "TaskoraErrorBudgetBurnFast",
        "TaskoraErrorBudgetBurnSlow",
    } <= (exercised & silent)
    result = _run("promtool", "test", "rules", str(RULES_TEST))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_plain_scrape_config_is_valid() -> None:
    result = _run("promtool", "check", "config", str(OBS / "prometheus.yml"))
    if "kubernetes_sd_configs not found" in result.stdout + result.stderr:
        pytest.skip("this promtool is built without Kubernetes discovery (Debian's package)")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_plain_scrape_config_keeps_the_taskora_pods_and_adds_the_target_labels() -> None:
    config = yaml.safe_load((OBS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["rules/taskora.rules.yaml"]
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "taskora"]
    assert job["kubernetes_sd_configs"][0]["role"] == "pod"
    relabel = job["relabel_configs"]
    keeps = {(tuple(r["source_labels"]), r["regex"]) for r in relabel if r.get("action") == "keep"}
    assert (("__meta_kubernetes_pod_label_app_kubernetes_io_name",), "taskora") in keeps
    assert (("__meta_kubernetes_pod_container_port_name",), "http") in keeps
    assert {"namespace", "pod"} <= {r.get("target_label") for r in relabel}


@needs_kubectl
def test_the_kustomization_renders_monitor_rules_and_dashboard() -> None:
    result = _run("kubectl", "kustomize", str(OBS))
    assert result.returncode == 0, result.stderr
    objects: dict[str, dict[str, Any]] = {o["kind"]: o for o in yaml.safe_load_all(result.stdout)}
    assert set(objects) == {"PodMonitor", "PrometheusRule", "ConfigMap"}
    monitor = objects["PodMonitor"]["spec"]
    assert monitor["selector"]["matchLabels"] == {"app.kubernetes.io/name": "taskora"}
    assert monitor["namespaceSelector"]["matchNames"] == ["taskora"]
    assert [(e["port"], e["path"]) for e in monitor["podMetricsEndpoints"]] == [
        ("http", "/metrics")
    ]
    rule = objects["PrometheusRule"]
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    dashboard = objects["ConfigMap"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["taskora-dashboard.json"]) == json.loads(
        DASHBOARD.read_text()
    )


def test_the_prometheus_rule_and_the_plain_rules_file_agree() -> None:
    rule = yaml.safe_load((OBS / "prometheusrule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
