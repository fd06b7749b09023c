"""The Kubernetes layout under clusters/k8s: every overlay renders, the built-in objects validate
against the Kubernetes schemas, and the manifests agree with the service itself (subscriptions,
topics, cron jobs, probes, ports), checked against the app built from the repository."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from functools import cache
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient
from kubernetes_validate.utils import latest_version, major_minor

from taskora.app import create_app
from taskora.events.envelope import TOPICS, dead_letter_topic
from taskora.migrate import upgrade
from taskora.settings import Settings
from tests.clusters.manifests import (
    KUBERNETES_VERSION,
    ROOT,
    Object,
    arg_after,
    component_metadata,
    components_of_type,
    containers,
    is_custom,
    named,
    of_kind,
    pod_templates,
    pods_selected,
    render,
    service_for,
)

K8S = ROOT / "clusters" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
ROLES = ("api", "consumers", "scheduler")
SECRETS = {
    "taskora-secrets": {"jwt-secret", "database-url"},
    "postgres-credentials": {"password"},
    "taskora-app-token": {"token"},
}
APP_TOKEN = "sidecar-token"  # stands for the Secret taskora-app-token the pods read
LOCAL_IMAGE = "taskora:dev"
ACME_SOLVER = {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}

AppClient = Callable[[Object, str], TestClient]


@cache
def _render(overlay: str) -> tuple[Object, ...]:
    return tuple(render(K8S / "overlays" / overlay))


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def objects(overlay: str) -> list[Object]:
    return list(_render(overlay))


def _config(objects: list[Object]) -> dict[str, str]:
    (config,) = [
        o
        for o in of_kind(objects, "ConfigMap")
        if o["metadata"]["name"].startswith("taskora-config")
    ]
    return dict(config["data"])


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[tuple[str, str], ...], str]:
    """Migrated SQLite databases, one per configuration, kept for the module's tests."""
    return {}


@pytest.fixture
def app_client(
    migrated: dict[tuple[tuple[str, str], ...], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppClient]:
    """The app of one role, configured as an overlay's ConfigMap configures the pods; each
    app is started for the test and stopped after it."""
    clients: dict[tuple[tuple[str, str], ...], TestClient] = {}
    with contextlib.ExitStack() as stack:

        def build(objects: list[Object], role: str) -> TestClient:
            env = _config(objects)
            key = (*sorted(env.items()), ("role", role))
            if key not in clients:
                if key not in migrated:
                    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'taskora.db'}"
                    upgrade(url)  # what the api's `taskora migrate` init container does
                    migrated[key] = url
                fields = {
                    name.removeprefix("TASKORA_").lower(): value
                    for name, value in env.items()
                    if name.startswith("TASKORA_")
                }
                fields.update(
                    database_url=migrated[key],
                    background="false",
                    jwt_secret="x" * 32,
                    app_api_token=APP_TOKEN,
                )
                if "role" in Settings.model_fields:
                    fields["role"] = role
                app = create_app(Settings(**fields))
                sidecar = {"dapr-api-token": APP_TOKEN}  # what the sidecar brings
                clients[key] = stack.enter_context(TestClient(app, headers=sidecar))
            return clients[key]

        yield build


def _taskora(objects: list[Object]) -> dict[str, tuple[Object, Object]]:
    """role -> (Deployment, its `taskora` container)."""
    found = {}
    for owner, template in pod_templates(objects):
        labels = template["metadata"]["labels"]
        if owner["kind"] == "Deployment" and labels.get("app.kubernetes.io/name") == "taskora":
            (container,) = [c for c in template["spec"]["containers"] if c["name"] == "taskora"]
            found[labels["app.kubernetes.io/component"]] = (owner, container)
    assert sorted(found) == sorted(ROLES)
    return found


def test_every_built_in_object_validates_against_the_kubernetes_schema(
    objects: list[Object],
) -> None:
    assert major_minor(KUBERNETES_VERSION) <= latest_version()
    built_in = [o for o in objects if not is_custom(o)]
    assert len(built_in) > 20
    for obj in built_in:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_namespaced_objects_are_in_the_taskora_namespace(objects: list[Object]) -> None:
    cluster_scoped = {"Namespace", "ClusterIssuer"}
    assert named(objects, "Namespace", "taskora")
    for obj in objects:
        expected = None if obj["kind"] in cluster_scoped else "taskora"
        assert obj["metadata"].get("namespace") == expected, (obj["kind"], obj["metadata"])


def test_dapr_resources_carry_their_required_fields(objects: list[Object]) -> None:
    app_ids = {
        d["spec"]["template"]["metadata"]["annotations"]["dapr.io/app-id"]
        for d, _ in _taskora(objects).values()
    }
    for component in of_kind(objects, "Component"):
        spec = component["spec"]
        assert re.fullmatch(r"(pubsub|bindings|secretstores|state)\.[a-z0-9.]+", spec["type"])
        assert spec["version"] == "v1"
        for item in spec["metadata"]:
            assert set(item) in ({"name", "value"}, {"name", "secretKeyRef"}), item
        assert set(component.get("scopes", [])) <= app_ids
    (configuration,) = of_kind(objects, "Configuration")
    assert configuration["spec"]["metric"]["enabled"] is True
    assert float(configuration["spec"]["tracing"]["samplingRate"]) <= 0.1
    (resiliency,) = of_kind(objects, "Resiliency")
    policies, targets = resiliency["spec"]["policies"], resiliency["spec"]["targets"]
    assert set(resiliency.get("scopes", [])) <= app_ids
    component_names = {c["metadata"]["name"] for c in of_kind(objects, "Component")}
    assert set(targets["components"]) <= component_names
    kinds = {"timeout": "timeouts", "retry": "retries", "circuitBreaker": "circuitBreakers"}
    for target in targets["components"].values():
        for direction in target.values():
            for kind, name in direction.items():
                assert name in policies[kinds[kind]], (kind, name)
    pubsub = targets["components"][components_of_type(objects, "pubsub.")[0]["metadata"]["name"]]
    assert policies["retries"][pubsub["outbound"]["retry"]]["policy"] == "exponential"
    assert "circuitBreaker" in pubsub["outbound"] and "circuitBreaker" in pubsub["inbound"]


def test_pubsub_component_is_the_one_the_consumers_subscribe_with(
    objects: list[Object], app_client: AppClient
) -> None:
    assert _config(objects)["TASKORA_BUS"] == "dapr"
    consumers, _ = _taskora(objects)["consumers"]
    app_id = consumers["spec"]["template"]["metadata"]["annotations"]["dapr.io/app-id"]
    subscriptions = app_client(objects, "consumers").get("/dapr/subscribe").json()
    assert subscriptions, "the consumers role declares no subscriptions"
    for subscription in subscriptions:
        component = named(objects, "Component", subscription["pubsubname"])
        assert component["spec"]["type"].startswith("pubsub.")
        assert app_id in component["scopes"]
        meta = component_metadata(component)
        if component["spec"]["type"] == "pubsub.redis":
            service_for(objects, meta["redisHost"])
        else:
            assert component["spec"]["type"] == "pubsub.kafka"
            for broker in meta["brokers"].split(","):
                assert service_for(objects, broker)["metadata"]["name"] == "redpanda"
            assert meta["authType"] == "none" and meta["initialOffset"] == "oldest"


def test_the_topic_job_creates_every_subscribed_and_dead_letter_topic(
    objects: list[Object], app_client: AppClient
) -> None:
    subscriptions = app_client(objects, "consumers").get("/dapr/subscribe").json()
    wanted = {s["topic"] for s in subscriptions} | {s["deadLetterTopic"] for s in subscriptions}
    job = named(objects, "Job", "redpanda-topics")
    (rpk,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in rpk["env"]}
    assert wanted and wanted <= set(env["TOPICS"].split())
    script = rpk["args"][0]
    assert "for topic in $TOPICS" in script and 'rpk topic create "$topic"' in script
    brokers = named(objects, "StatefulSet", "redpanda")["spec"]["replicas"]
    assert 1 <= int(env["REPLICAS"]) <= brokers
    assert service_for(objects, env["RPK_BROKERS"])["metadata"]["name"] == "redpanda"


def _e2e_matrix() -> list[dict[str, str]]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "e2e-kind.yml").read_text())
    (job,) = workflow["jobs"].values()
    return list(job["strategy"]["matrix"]["include"])


def test_the_e2e_matrix_runs_each_pubsub_on_an_overlay_whose_component_and_topics_agree(
    app_client: AppClient,
) -> None:
    """e2e-kind.yml validates Redis and Kafka: each matrix entry's overlay renders the pub/sub
    component of that kind, the one the consumers subscribe with, and on Kafka the topic job
    creates every topic and dead-letter topic the app declares."""
    matrix = _e2e_matrix()
    assert sorted(entry["pubsub"] for entry in matrix) == ["kafka", "redis"]
    for entry in matrix:
        objects = list(_render(entry["overlay"]))
        (component,) = components_of_type(objects, "pubsub.")
        assert component["spec"]["type"] == f"pubsub.{entry['pubsub']}", entry
        subscriptions = app_client(objects, "consumers").get("/dapr/subscribe").json()
        assert {s["pubsubname"] for s in subscriptions} == {component["metadata"]["name"]}
        declared = {s["topic"] for s in subscriptions} | {
            s["deadLetterTopic"] for s in subscriptions
        }
        assert declared == set(TOPICS) | {dead_letter_topic(t) for t in TOPICS}
        if entry["pubsub"] == "kafka":
            (rpk,) = named(objects, "Job", "redpanda-topics")["spec"]["template"]["spec"][
                "containers"
            ]
            topics = {e["name"]: e["value"] for e in rpk["env"]}["TOPICS"].split()
            assert declared <= set(topics)


def test_consumers_and_scheduler_read_their_secrets_from_the_dapr_secret_store(
    objects: list[Object],
) -> None:
    """TASKORA_SECRETS=dapr in the roles the sidecar serves before they start; the store and
    secret the app asks for by default exist, are scoped to them, and the sidecar (the pods'
    service account) may read that secret. The api keeps the variables: its migrate init
    container runs before any sidecar."""
    defaults = Settings()
    store = named(objects, "Component", defaults.secret_store)
    assert store["spec"]["type"] == "secretstores.kubernetes"
    (configuration,) = of_kind(objects, "Configuration")
    scopes = {s["storeName"]: s for s in configuration["spec"]["secrets"]["scopes"]}
    assert defaults.secret_name in scopes[defaults.secret_store]["allowedSecrets"]
    (role,) = [
        r
        for r in of_kind(objects, "Role")
        if any("secrets" in rule["resources"] for rule in r["rules"])
    ]
    (rule,) = role["rules"]
    assert rule["resourceNames"] == [defaults.secret_name] and rule["verbs"] == ["get"]
    (binding,) = [
        b
        for b in of_kind(objects, "RoleBinding")
        if b["roleRef"]["name"] == role["metadata"]["name"]
    ]
    accounts = {s["name"] for s in binding["subjects"]}
    for name, (deployment, container) in _taskora(objects).items():
        env = {e["name"]: e for e in container["env"]}
        pod = deployment["spec"]["template"]
        if name == "api":
            assert {"TASKORA_JWT_SECRET", "TASKORA_DATABASE_URL"} <= set(
                env
            ) and "TASKORA_SECRETS" not in env
            continue
        assert env["TASKORA_SECRETS"]["value"] == "dapr"
        assert not {"TASKORA_JWT_SECRET", "TASKORA_DATABASE_URL"} & set(env), name
        assert pod["metadata"]["annotations"]["dapr.io/app-id"] in store["scopes"]
        assert pod["spec"]["serviceAccountName"] in accounts


def test_cron_bindings_call_jobs_the_scheduler_runs(
    objects: list[Object], app_client: AppClient
) -> None:
    client = app_client(objects, "scheduler")
    scheduler, _ = _taskora(objects)["scheduler"]
    app_id = scheduler["spec"]["template"]["metadata"]["annotations"]["dapr.io/app-id"]
    crons = components_of_type(objects, "bindings.cron")
    assert {c["metadata"]["name"] for c in crons} == {"reminder-check", "housekeeping"}
    for component in crons:
        name, meta = component["metadata"]["name"], component_metadata(component)
        assert meta["route"] == f"/cron/{name}"
        assert meta["schedule"].startswith("@every ")
        assert component["scopes"] == [app_id]
        assert client.options(meta["route"]).status_code == 200
        assert client.post(meta["route"]).status_code == 200
    assert client.post("/cron/no-such-job").status_code == 404


def test_probes_are_routes_each_role_answers(objects: list[Object], app_client: AppClient) -> None:
    for role, (_, container) in _taskora(objects).items():
        client = app_client(objects, role)
        port_names = {p["name"] for p in container["ports"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            action = container[probe]["httpGet"]
            assert action["port"] in port_names
            assert client.get(action["path"]).status_code == 200, (role, probe)
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"


def test_ports_roles_and_dapr_annotations_agree(objects: list[Object]) -> None:
    configurations = {c["metadata"]["name"] for c in of_kind(objects, "Configuration")}
    for role, (deployment, container) in _taskora(objects).items():
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        (http,) = [p for p in container["ports"] if p["name"] == "http"]
        args = container["args"]
        assert http["containerPort"] == int(annotations["dapr.io/app-port"])
        assert http["containerPort"] == int(arg_after(args, "--port"))
        assert arg_after(args, "--role") == role and args[0] == "serve"
        assert annotations["dapr.io/enabled"] == "true"
        assert annotations["dapr.io/app-id"] == f"taskora-{role}"
        assert annotations["dapr.io/config"] in configurations
        # The sidecar brings the token the app requires (a forged event or cron call cannot)
        assert annotations["dapr.io/app-token-secret"] == "taskora-app-token"
        (token,) = [e for e in container["env"] if e["name"] == "APP_API_TOKEN"]
        assert token["valueFrom"]["secretKeyRef"] == {"name": "taskora-app-token", "key": "token"}
        assert deployment["metadata"]["name"] == f"taskora-{role}"
        pod = deployment["spec"]["template"]["spec"]
        sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        assert pod["terminationGracePeriodSeconds"] > sleep + int(
            arg_after(args, "--drain-seconds")
        )
    api, _ = _taskora(objects)["api"]
    (migrate,) = api["spec"]["template"]["spec"]["initContainers"]
    assert migrate["args"] == ["migrate"]


def test_every_workload_is_bounded_probed_and_unprivileged(objects: list[Object]) -> None:
    for owner, template in pod_templates(objects):
        pod = template["spec"]
        where = f"{owner['kind']}/{owner['metadata']['name']}"
        for container in containers(pod):
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[bound]), (where, container["name"])
            security = {**pod["securityContext"], **container["securityContext"]}
            assert security["runAsNonRoot"] is True and security["runAsUser"] != 0, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        if owner["kind"] == "Job":
            continue
        for container in containers(pod, init=False):
            assert "livenessProbe" in container and "readinessProbe" in container, where
    for _, container in _taskora(objects).values():
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}


def test_taskora_containers_run_the_overlays_image(overlay: str, objects: list[Object]) -> None:
    images = set()
    for deployment, _ in _taskora(objects).values():
        for container in containers(deployment["spec"]["template"]["spec"]):
            images.add(container["image"])
            if overlay in ("kind", "minikube", "kind-kafka"):
                assert container["imagePullPolicy"] == "IfNotPresent"
    assert len(images) == 1
    (image,) = images
    if overlay == "doks":
        assert re.fullmatch(r"[a-z0-9.-]+\.[a-z]+/[a-z0-9/_-]+:[\w.-]+", image), image
    else:
        assert image == LOCAL_IMAGE


def test_service_taskora_reaches_the_api_pods(objects: list[Object]) -> None:
    service = named(objects, "Service", "taskora")
    selected = pods_selected(objects, {"matchLabels": service["spec"]["selector"]})
    assert [o["metadata"]["name"] for o in selected] == ["taskora-api"]
    (port,) = service["spec"]["ports"]
    _, container = _taskora(objects)["api"]
    assert port["targetPort"] in {p["name"] for p in container["ports"]}
    assert port["port"] == 8000


def test_locust_targets_the_taskora_service(objects: list[Object]) -> None:
    layout = render(ROOT / "clusters" / "locust", load_restrictor=False)
    (shape,) = [
        o for o in of_kind(layout, "ConfigMap") if o["metadata"]["name"].startswith("load-shape")
    ]
    url = urlsplit(shape["data"]["LOCUST_HOST"])  # the master reads it from its environment
    assert url.hostname is not None and url.port is not None
    name, namespace, *_ = url.hostname.split(".")
    assert namespace == "taskora"
    service = named(objects, "Service", name)
    assert url.port in [p["port"] for p in service["spec"]["ports"]]


def test_only_the_expected_secrets_are_referenced_and_none_is_committed(
    objects: list[Object],
) -> None:
    assert not [o for o in of_kind(objects, "Secret") if o.get("data") or o.get("stringData")]
    references: list[tuple[str, str | None]] = []
    for _, template in pod_templates(objects):
        for container in containers(template["spec"]):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    references.append((ref["name"], ref["key"]))
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    references.append((source["secretRef"]["name"], None))
        for volume in template["spec"].get("volumes", []):
            if "secret" in volume:
                references.append((volume["secret"]["secretName"], None))
    assert ("taskora-secrets", "database-url") in references
    assert ("taskora-app-token", "token") in references
    for name, key in references:
        assert name in SECRETS and (key is None or key in SECRETS[name]), (name, key)
    for role in of_kind(objects, "Role"):
        for rule in role["rules"]:
            if "secrets" in rule["resources"]:
                assert rule["resourceNames"] == ["taskora-secrets"]


def test_autoscalers_and_budgets_point_at_real_workloads(objects: list[Object]) -> None:
    scaled = set()
    for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        workload = named(objects, target["kind"], target["name"])
        assert "replicas" not in workload["spec"], "the autoscaler owns the replica count"
        names = {c["name"] for c in workload["spec"]["template"]["spec"]["containers"]}
        for metric in hpa["spec"]["metrics"]:
            assert metric["containerResource"]["container"] in names
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        scaled.add(target["name"])
    assert scaled == {"taskora-api", "taskora-consumers"}
    for pdb in of_kind(objects, "PodDisruptionBudget"):
        assert pods_selected(objects, pdb["spec"]["selector"]), pdb["metadata"]["name"]


def test_network_policies_select_pods_and_open_their_ports(objects: list[Object]) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    assert any(
        p["spec"]["podSelector"] == {} and p["spec"].get("ingress") is None for p in policies
    ), "no default deny"
    for policy in policies:
        if policy["spec"]["podSelector"] == ACME_SOLVER:
            assert policy["spec"]["ingress"][0]["ports"] == [{"port": 8089, "protocol": "TCP"}]
            continue  # cert-manager starts these pods for an HTTP-01 challenge
        selected = pods_selected(objects, policy["spec"]["podSelector"])
        assert selected, policy["metadata"]["name"]
        declared = {
            port["containerPort"]
            for owner in selected
            for c in containers(owner["spec"]["template"]["spec"])
            for port in c.get("ports", [])
        }
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if "podSelector" in peer:
                    assert pods_selected(objects, peer["podSelector"]), policy["metadata"]
            sidecar = {3500, 50001, 50002, 9090}  # the injected Dapr sidecar's (9090: metrics)
            for port in rule["ports"]:
                assert port["port"] in declared | sidecar, (policy["metadata"]["name"], port)


def test_ingress_serves_the_api_and_streams_events(overlay: str, objects: list[Object]) -> None:
    ingress = named(objects, "Ingress", "taskora")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    (rule,) = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "taskora"
    assert backend["port"]["name"] in {
        p["name"] for p in named(objects, "Service", "taskora")["spec"]["ports"]
    }
    if overlay == "doks":
        issuer = named(objects, "ClusterIssuer", annotations["cert-manager.io/cluster-issuer"])
        acme = issuer["spec"]["acme"]
        assert acme["server"].startswith("https://") and "@" in acme["email"]
        assert acme["privateKeySecretRef"]["name"] and acme["solvers"]
        (tls,) = ingress["spec"]["tls"]
        assert tls["hosts"] == [rule["host"]] and tls["secretName"]
    else:
        assert not of_kind(objects, "ClusterIssuer") and rule["host"]


def test_each_overlay_runs_its_own_database_and_bus(overlay: str, objects: list[Object]) -> None:
    (pubsub,) = components_of_type(objects, "pubsub.")
    postgres = [o for o in objects if o["metadata"]["name"] == "postgres"]
    redpanda = named(objects, "StatefulSet", "redpanda")["spec"]["replicas"]
    hpa = named(objects, "HorizontalPodAutoscaler", "taskora-api")["spec"]
    if overlay == "doks":
        assert pubsub["spec"]["type"] == "pubsub.kafka" and not postgres
        assert redpanda == 3 and hpa["minReplicas"] >= 2
        assert not [o for o in objects if o["metadata"]["name"] == "redis"]
        return
    expected = "pubsub.kafka" if overlay.endswith("-kafka") else "pubsub.redis"
    assert pubsub["spec"]["type"] == expected and redpanda == 1 and hpa["minReplicas"] == 1
    assert {o["kind"] for o in postgres} == {"StatefulSet", "Service"}
    assert [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        == "postgres"
    ]
    service = named(objects, "Service", "postgres")
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["ports"][0]["port"] == 5432
    env = {
        e["name"]: e
        for e in named(objects, "StatefulSet", "postgres")["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
    }
    assert env["POSTGRES_DB"]["value"] == "taskora" and env["POSTGRES_USER"]["value"] == "taskora"


def test_every_overlay_is_tested() -> None:
    assert {"kind", "minikube", "doks"} <= set(OVERLAYS)
    assert all((K8S / "overlays" / name / "kustomization.yaml").is_file() for name in OVERLAYS)


@pytest.mark.parametrize("cluster", ["kind", "minikube", "doks"])
def test_the_broker_chaos_stops_is_there_and_keeps_its_data(cluster: str) -> None:
    """The harness scales this workload to 0 and back (broker-outage): events the relay handed
    over must still be there after, so its data is on a persistent volume."""
    from harness.targets.clusters import CLUSTERS

    kind, name = CLUSTERS[cluster].broker
    (broker,) = [
        o for o in _render(cluster) if o["kind"].lower() == kind and o["metadata"]["name"] == name
    ]
    claims = {t["metadata"]["name"] for t in broker["spec"].get("volumeClaimTemplates", [])}
    mounted = {
        m["name"]
        for c in broker["spec"]["template"]["spec"]["containers"]
        for m in c.get("volumeMounts", [])
    }
    assert claims and claims <= mounted, (name, claims, mounted)


def test_the_tls_overlay_lets_the_ingress_reach_cert_managers_solver() -> None:
    """Without it the default deny keeps Let's Encrypt's HTTP-01 challenge from being answered."""
    objects = list(_render("doks"))
    assert named(objects, "Ingress", "taskora")["spec"]["tls"]
    policies = [
        p for p in of_kind(objects, "NetworkPolicy") if p["spec"]["podSelector"] == ACME_SOLVER
    ]
    (peer,) = policies[0]["spec"]["ingress"][0]["from"]
    assert (
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "ingress-nginx"
    )
