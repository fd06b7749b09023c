"""The dashboard and the alert rules against a live Prometheus: a real ``taskora serve`` (two
workers) with traffic, scraped each second by Debian's ``prometheus`` with the project's rules
loaded. Every dashboard query must return data, and every series selector of every rule must
match series the service really exports, with the labels the scrape really adds (the text checks
of test_observability.py cannot see a matcher that matches nothing)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from harness.prometheus import LocalPrometheus, PromQL
from harness.targets.local import LocalTarget
from tests.clusters.promql_text import selector_texts
from tests.factories import task_body
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "clusters" / "observability"
# Series that exist only where their event happened, or only in a cluster: a healthy run has
# none (a rule over them stays silent; a dashboard panel says "no data" or, where it divides,
# falls back to 0 with `or vector(0)`).
ONLY_WHEN_IT_HAPPENS = {
    "taskora_events_retried_total": "a consumer failed and retried",
    "taskora_events_dead_lettered_total": "a consumer gave up on an event",
    "kube_pod_container_status_restarts_total": "kube-state-metrics, in a cluster",
}
A_5XX = 'status=~"5.."'  # requests answered with a 5xx: none on a healthy service


def _happens_only_on_failure(name: str, matcher: str) -> bool:
    return name in ONLY_WHEN_IT_HAPPENS or A_5XX in matcher


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, prometheus_server: str) -> Iterator[PromQL]:
    """A Prometheus that has scraped the service after real traffic (events consumed too)."""
    target = LocalTarget(workers=2)
    server = LocalPrometheus(tmp_path_factory.mktemp("prometheus"), target.scrape_targets())
    try:
        server.start()
        deployment = target.up()
        server.wait_scraping()
        headers = deployment.headers("observer")
        with httpx.Client(base_url=deployment.base_url, headers=headers, timeout=10) as api:
            for _ in range(5):
                task = api.post("/api/tasks", json=task_body()).json()
                api.get(f"/api/tasks/{task['id']}").raise_for_status()
                api.get("/api/tasks").raise_for_status()
            api.patch(f"/api/tasks/{task['id']}", json={"title": "renamed"}).raise_for_status()
            assert api.get("/api/tasks/999999").status_code == 404
        traffic_ended = time.time()
        promql = PromQL(server.url)
        consumed = (
            "sum(taskora_events_consumed_total) > 0 and sum(taskora_events_published_total) > 0"
        )
        wait_until(lambda: promql.vector(consumed), timeout=60, what="events consumed", every=0.2)
        assert promql.wait_scraped(traffic_ended + 1, timeout=30), "no scrape after the traffic"
        yield promql
    finally:
        server.stop()
        target.down()


def _dashboard_queries() -> list[tuple[str, str]]:
    panels = json.loads((OBS / "grafana" / "taskora-dashboard.json").read_text())["panels"]
    return [(panel["title"], target["expr"]) for panel in panels for target in panel["targets"]]


def _local(expr: str) -> str:
    """A dashboard query as Grafana would send it for the local namespace."""
    return expr.replace("$namespace", "local").replace("$__rate_interval", "1m")


def test_every_dashboard_query_returns_data(live: PromQL) -> None:
    empty = []
    for title, expr in _dashboard_queries():
        if all(_happens_only_on_failure(*selector) for selector in selector_texts(expr)):
            continue
        if not live.vector(_local(expr)):
            empty.append(f"{title}: {expr}")
    assert not empty, "dashboard queries without data:\n" + "\n".join(empty)


def test_every_selector_of_every_alert_rule_matches_exported_series(live: PromQL) -> None:
    groups = yaml.safe_load((OBS / "rules" / "taskora.rules.yaml").read_text())["groups"]
    unmatched = []
    for rule in (rule for group in groups for rule in group["rules"]):
        for name, matcher in selector_texts(rule["expr"]):
            if _happens_only_on_failure(name, matcher):
                continue
            if not live.vector(f"count(last_over_time({name}{matcher}[5m]))"):
                unmatched.append(f"{rule['alert']}: {name}{matcher}")
    assert not unmatched, "rule selectors that match no series:\n" + "\n".join(unmatched)


def test_the_check_sees_a_selector_that_matches_nothing(live: PromQL) -> None:
    typo = 'taskora_http_requests_total{route=~"/api/task"}'  # a route that never exists
    assert not live.vector(f"count(last_over_time({typo}[5m]))")
    assert live.vector('count(last_over_time(taskora_http_requests_total{route=~"/api/.*"}[5m]))')
