"""clusters/compose: the Compose files validate against the Compose specification, and agree with
the application (roles, ports, routes, topics, cron jobs, the pubsub name). Docker cannot run on
the machines these tests were written on: they check the files, not a running stack."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from taskora.app import create_app
from taskora.cli import _parser
from taskora.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "clusters" / "compose"
BASE, DAPR = COMPOSE / "compose.yaml", COMPOSE / "compose.dapr.yaml"
ROLES = ("api", "consumers", "scheduler")
APP_TOKEN = "sidecar-token"


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def _merged() -> dict[str, dict[str, Any]]:
    """The services of base + overlay, merged as Compose does for these keys."""
    services = {name: dict(spec) for name, spec in _load(BASE)["services"].items()}
    for name, spec in _load(DAPR)["services"].items():
        merged = services.setdefault(name, {})
        for key, value in spec.items():
            if key == "environment" and key in merged:
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return services


def _components() -> dict[str, dict[str, Any]]:
    docs = [_load(path) for path in sorted((COMPOSE / "components").glob("*.yaml"))]
    return {doc["metadata"]["name"] + ":" + doc["kind"]: doc for doc in docs}


def _of_type(prefix: str) -> list[dict[str, Any]]:
    return [c for c in _components().values() if c["spec"].get("type", "").startswith(prefix)]


def _flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _metadata(component: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in component["spec"]["metadata"]}


@pytest.fixture
def client(tmp_path: Path) -> Any:
    """The app per test: the database's threads start as a test needs them (one request thread
    or two) and are joined when its client closes, so none outlives the test."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 't.db'}",
        bus="dapr",
        background=False,
        jwt_secret="x" * 32,
        app_api_token=APP_TOKEN,
    )
    app = create_app(settings)
    with TestClient(app, headers={"dapr-api-token": APP_TOKEN}) as test_client:
        yield test_client


@pytest.mark.parametrize("path", [BASE, DAPR], ids=lambda p: p.name)
def test_compose_file_matches_the_compose_specification(path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_role_services_use_roles_the_cli_accepts() -> None:
    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve = commands.choices["serve"]
    role = next((a for a in serve._actions if "--role" in a.option_strings), None)
    if role is None or not role.choices:
        pytest.skip("taskora serve has no --role option yet")
    for name in ROLES:
        command = _merged()[name]["command"]
        assert command[:1] == ["serve"]
        assert _flag(command, "--role") == name
        assert name in role.choices


def test_ports_agree_with_the_port_each_service_serves_on() -> None:
    services = _merged()
    for name in ROLES:
        port = _flag(services[name]["command"], "--port")
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/" in probe
        for mapping in services[name].get("ports", []):
            assert mapping.rsplit(":", 1)[-1] == port
        assert _flag(services[f"daprd-{name}"]["command"], "--app-port") == port
    assert services["api"]["ports"], "the api publishes its port"


def test_healthchecks_probe_routes_the_app_serves(client: TestClient) -> None:
    for name in ROLES:
        probe = " ".join(_merged()[name]["healthcheck"]["test"])
        (path,) = re.findall(r"http://[\d.]+:\d+(/[\w/-]*)", probe)
        assert path == "/ready"  # readiness, not liveness: --wait means "serving"
        assert client.get(path).status_code == 200


def test_every_dependency_and_shared_network_names_a_service() -> None:
    services = _merged()
    for name, spec in services.items():
        assert set(spec.get("depends_on", [])) <= set(services), name
        mode = spec.get("network_mode", "")
        if mode.startswith("service:"):
            assert mode.removeprefix("service:") in services, name


def test_each_sidecar_runs_for_its_role() -> None:
    services = _merged()
    sidecars = {n: s for n, s in services.items() if n.startswith("daprd-")}
    assert sorted(sidecars) == sorted(f"daprd-{role}" for role in ROLES)
    for name, spec in sidecars.items():
        role = spec["network_mode"].removeprefix("service:")
        assert name == f"daprd-{role}"
        assert _flag(spec["command"], "--app-id") == f"taskora-{role}"
        config = _flag(spec["command"], "--config")
        assert "./components:/components:ro" in spec["volumes"]
        assert _flag(spec["command"], "--resources-path") == "/components"
        assert (COMPOSE / "components" / Path(config).name).is_file()


def test_the_overlay_switches_every_role_to_dapr_and_the_cron_bindings() -> None:
    base, merged = _load(BASE)["services"], _merged()
    for name in ROLES:
        assert base[name]["environment"]["TASKORA_BUS"] == "redis"
        assert merged[name]["environment"]["TASKORA_BUS"] == "dapr"
    assert merged["scheduler"]["environment"]["TASKORA_TICKER_SECONDS"] == "0"


def test_the_pubsub_component_is_the_one_the_app_subscribes_through(client: TestClient) -> None:
    (pubsub,) = _of_type("pubsub.")
    subscriptions = client.get("/dapr/subscribe").json()
    assert subscriptions and {s["pubsubname"] for s in subscriptions} == {
        pubsub["metadata"]["name"]
    }
    assert pubsub["scopes"] == ["taskora-consumers"]
    assert _metadata(pubsub)["brokers"] == "redpanda:9092"
    created = _merged()["redpanda-init"]["command"]
    for subscription in subscriptions:
        assert subscription["topic"] in created
        assert subscription["deadLetterTopic"] in created


def test_every_cron_binding_is_a_job_of_the_scheduler(client: TestClient) -> None:
    bindings = _of_type("bindings.cron")
    assert sorted(b["metadata"]["name"] for b in bindings) == ["housekeeping", "reminder-check"]
    for binding in bindings:
        name = binding["metadata"]["name"]
        assert _metadata(binding)["route"] == f"/cron/{name}"
        assert binding["scopes"] == ["taskora-scheduler"]
        assert client.options(f"/cron/{name}").status_code == 200
        assert client.post(f"/cron/{name}").status_code == 200
    assert client.post("/cron/no-such-job").status_code == 404


def test_resiliency_targets_components_that_exist() -> None:
    (resiliency,) = [c for c in _components().values() if c["kind"] == "Resiliency"]
    names = {c["metadata"]["name"] for c in _components().values() if c["kind"] == "Component"}
    assert set(resiliency["spec"]["targets"]["components"]) <= names


def test_what_needs_no_host_or_secret_is_the_same_as_on_the_clusters() -> None:
    """The cron bindings and the Resiliency name no host and no secret: where clusters/k8s
    declares one of the same kind and name, its spec and scopes must be the same. (The pubsub
    names a host and the Configuration the Kubernetes secret store: those differ.)"""
    ours = {
        key: c
        for key, c in _components().items()
        if c["kind"] == "Resiliency" or c["spec"].get("type") == "bindings.cron"
    }
    theirs = [
        doc
        for path in sorted((ROOT / "clusters" / "k8s").rglob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict)
        and f"{doc.get('metadata', {}).get('name')}:{doc.get('kind')}" in ours
    ]
    if not theirs:
        pytest.skip("clusters/k8s declares no cron bindings or Resiliency yet")
    for doc in theirs:
        mine = ours[f"{doc['metadata']['name']}:{doc['kind']}"]
        assert (doc["spec"], doc.get("scopes")) == (mine["spec"], mine.get("scopes"))


def test_no_secret_values_are_committed() -> None:
    for path in (BASE, DAPR):
        text = path.read_text()
        for key in ("TASKORA_JWT_SECRET", "POSTGRES_PASSWORD", "APP_API_TOKEN"):
            for value in re.findall(rf"{key}: (.*)", text):
                assert value.startswith(f"${{{key}:?"), (path.name, key)
        assert "password@" not in text.lower()
    example = dict(
        line.split("=", 1)
        for line in (COMPOSE / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert example["TASKORA_JWT_SECRET"].startswith("replace-me")
    assert example["POSTGRES_PASSWORD"].startswith("replace-me")
    assert example["APP_API_TOKEN"].startswith("replace-me")
    tracked = subprocess.run(
        ["git", "ls-files", str(COMPOSE)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [name for name in tracked if Path(name).name == ".env"]
    assert ".env" in (COMPOSE / ".gitignore").read_text().split()


def test_every_app_and_sidecar_gets_the_app_api_token() -> None:
    services = _merged()
    for name in ROLES:
        assert services[name]["environment"]["APP_API_TOKEN"].startswith("${APP_API_TOKEN:?")
        assert services[f"daprd-{name}"]["environment"] == {
            "APP_API_TOKEN": services[name]["environment"]["APP_API_TOKEN"]
        }


def test_commands_are_arguments_of_the_images_taskora_entrypoint() -> None:
    dockerfile = ROOT / "clusters" / "Dockerfile"
    if not dockerfile.is_file():
        pytest.skip("clusters/Dockerfile is not there yet")
    (entrypoint,) = re.findall(r"^ENTRYPOINT (.*)$", dockerfile.read_text(), re.MULTILINE)
    assert yaml.safe_load(entrypoint) == ["taskora"]
    services = _merged()
    assert services["migrate"]["build"]["dockerfile"] == "clusters/Dockerfile"
    assert (COMPOSE / services["migrate"]["build"]["context"]).resolve() == ROOT
    assert services["migrate"]["command"] == ["migrate"]
    for name in ROLES:
        assert services[name]["image"] == services["migrate"]["image"]
    assert services["migrate"]["image"] == "${TASKORA_IMAGE:-taskora:dev}"
