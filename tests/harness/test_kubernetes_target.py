"""The Kubernetes targets without a cluster: the API calls go to ``kube_standin`` (a stand-in
HTTP server), the tools (kubectl, docker, kind, helm) to a recording runner or, where the real
runner matters, to a small Python script standing in for kubectl."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml

from harness.errors import TargetUnavailable, UsageError
from harness.targets.clusters import CLUSTERS
from harness.targets.commands import run_command
from harness.targets.kubernetes import KubernetesTarget
from harness.targets.manifests import retarget_manifest
from harness.targets.port_forward import PortForward
from tests.harness.kube_standin import KubeStandIn, Workload

kubernetes = pytest.importorskip("kubernetes", reason="the k8s extra is not installed")

NS = "taskora-test"
ROOT = Path(__file__).resolve().parents[2]
POLL = 0.05

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata: {name: taskora}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: taskora-api, namespace: taskora}
spec:
  replicas: 2
  template:
    spec:
      initContainers: [{name: migrate, image: "taskora:dev", args: [migrate]}]
      containers:
      - {name: taskora, image: "taskora:dev", env: [{name: K, value: "rp.taskora.svc:9092"}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: taskora}
subjects: [{kind: ServiceAccount, name: taskora, namespace: taskora}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: redis, namespace: taskora}
spec:
  template:
    spec:
      containers: [{name: redis, image: "redis:7"}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: postgres, namespace: taskora}
spec:
  template:
    spec:
      containers: [{name: postgres, image: "postgres:17"}]
"""

# Stands in for kubectl where the real runner runs it: port-forward serves 200 on every path of
# the local port, any other command fails the way kubectl does.
KUBECTL = f"""#!{sys.executable}
import http.server, sys
args = sys.argv[1:]
if "port-forward" in args:
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        def log_message(self, *args):
            pass
    http.server.HTTPServer(("127.0.0.1", int(args[-1].split(":")[0])), Ok).serve_forever()
sys.stdin.read()
sys.stderr.write("Warning: first line\\nerror: the server rejected the manifest\\n")
sys.exit(1)
"""


class Tools:
    """The runner the target calls for every command: records them; ``kubectl apply`` hands
    the manifest to the stand-in; ``fail`` plants a failure for commands containing a word."""

    def __init__(self, standin: KubeStandIn) -> None:
        self.standin = standin
        self.calls: list[list[str]] = []
        self.applied: list[dict[str, Any]] = []
        self.fail: dict[str, str] = {}

    def __call__(self, argv: Sequence[str], *, stdin: str | None = None, timeout: float = 0) -> str:
        argv = list(argv)
        self.calls.append(argv)
        for word, message in self.fail.items():
            if word in argv:
                raise TargetUnavailable(message)
        if "apply" in argv:
            self.applied = [doc for doc in yaml.safe_load_all(stdin or "") if doc]
            self.standin.apply(self.applied, argv[argv.index("-n") + 1])
        return ""

    def ran(self, *words: str) -> bool:
        return any(all(w in call for w in words) for call in self.calls)


@pytest.fixture
def standin() -> Iterator[KubeStandIn]:
    server = KubeStandIn(ready_after=3, crds={"components.dapr.io"}).start()
    yield server
    server.stop()


@pytest.fixture
def kubectl(tmp_path: Path) -> str:
    script = tmp_path / "kubectl"
    script.write_text(KUBECTL)
    script.chmod(0o755)
    return str(script)


def _target(
    standin: KubeStandIn, kubectl: str, cluster: str = "kind", overlay: str | None = None, **kw: Any
) -> Any:
    configuration = kubernetes.client.Configuration(host=standin.host)
    defaults: dict[str, Any] = {
        "context": "test",
        "namespace": NS,
        "poll_interval": POLL,
        "ready_timeout": 20,
        "run": Tools(standin),
        "render": lambda overlay: MANIFEST,
        "which": lambda t: f"/bin/{t}",
        "kubectl": [kubectl],
        "api_client": kubernetes.client.ApiClient(configuration),
    }
    return KubernetesTarget(CLUSTERS[cluster].with_overlay(overlay), **{**defaults, **kw})


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "template" not in doc.get("spec", {}):
        return []
    pod = doc["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def test_up_builds_applies_times_and_down_removes(standin: KubeStandIn, kubectl: str) -> None:
    target = _target(standin, kubectl)
    tools: Tools = target.run
    deployment = target.up()
    try:
        assert tools.ran("docker", "info") and tools.ran("docker", "build", "taskora:dev")
        dockerfile = str(target.root / "clusters" / "Dockerfile")  # from any working directory
        assert tools.ran("docker", "build", "-f", dockerfile)
        assert tools.ran("kind", "load", "docker-image", "taskora:dev", "--name", "taskora")
        assert tools.ran("--context", "test", "-n", NS, "apply", "--server-side", "-f", "-")
        images = {
            c["name"]: c["image"]
            for doc in tools.applied
            if doc["kind"] != "Namespace"
            for c in _containers(doc)
        }
        assert images == {
            "migrate": "taskora:dev",
            "taskora": "taskora:dev",
            "redis": "redis:7",
            "postgres": "postgres:17",
        }
        placed = {d["metadata"].get("namespace", d["metadata"]["name"]) for d in tools.applied}
        assert placed == {NS}  # the Namespace object and every namespaced one
        (binding,) = [d for d in tools.applied if d["kind"] == "RoleBinding"]
        assert binding["subjects"][0]["namespace"] == NS
        assert f"rp.{NS}.svc:9092" in yaml.safe_dump_all(tools.applied)
        # apply -> ready: the stand-in answered "not ready" three times, polled every POLL s
        lists = standin.calls_to("GET", rf"/apis/apps/v1/namespaces/{NS}/deployments")
        assert len(lists) == 4
        assert deployment.deploy_seconds is not None and deployment.deploy_seconds >= 3 * POLL
        secret = standin.secret(NS, "taskora-secrets")
        password = standin.secret(NS, "postgres-credentials")["password"]
        assert len(secret["jwt-secret"]) >= 32 and len(password) >= 32
        assert secret["database-url"] == f"postgresql://taskora:{password}@postgres:5432/taskora"
        assert len(standin.secret(NS, "taskora-app-token")["token"]) == 64  # the sidecars' token
        claims = jwt.decode(deployment.token("u1"), secret["jwt-secret"], algorithms=["HS256"])
        assert claims["sub"] == "u1"
        assert httpx.get(f"{deployment.base_url}/ready").status_code == 200  # the port-forward
        assert not deployment.reaches_every_replica  # a port-forward reaches one pod (SC-002)
        assert standin.namespaces == {NS: "Active"}
        forward = target.forward
    finally:
        target.down()
    assert forward.child is None and not forward._thread
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{deployment.base_url}/ready", timeout=2)
    assert standin.calls_to("DELETE", rf"/api/v1/namespaces/{NS}") and NS not in standin.namespaces


def test_existing_secrets_are_reused_and_dapr_installed_with_helm(
    standin: KubeStandIn, kubectl: str
) -> None:
    standin.crds.clear()
    standin.namespaces[NS] = "Active"
    standin.add_secret(NS, "taskora-secrets", {"jwt-secret": "k" * 40, "database-url": "x"})
    standin.add_secret(NS, "postgres-credentials", {"password": "p"})
    standin.add_secret(NS, "taskora-app-token", {"token": "t" * 64})
    which = {"helm": "/bin/helm", "kind": "/bin/kind", "kubectl": kubectl}.get
    target = _target(standin, kubectl, image="reg.example/taskora:1", which=which)
    tools: Tools = target.run
    deployment = target.up()
    try:
        assert not standin.calls_to("POST", r".*/secrets") and not standin.calls_to("POST", r".*")
        assert jwt.decode(deployment.token("u"), "k" * 40, algorithms=["HS256"])["sub"] == "u"
        assert not tools.ran("docker", "build") and not tools.ran("load")
        assert tools.ran("helm", "--kube-context", "test", "upgrade", "--install", "dapr/dapr")
        assert {
            c["image"]
            for doc in tools.applied
            if doc["metadata"]["name"] == "taskora-api"
            for c in _containers(doc)
        } == {"reg.example/taskora:1"}
    finally:
        target.down()
    # A namespace that was there before (a running deployment, as on DOKS) is left in place.
    assert not standin.calls_to("DELETE", rf"/api/v1/namespaces/{NS}")
    assert standin.namespaces == {NS: "Active"}


def test_attach_reaches_a_running_deployment_and_changes_nothing(
    standin: KubeStandIn, kubectl: str
) -> None:
    standin.namespaces[NS] = "Active"
    standin.add_secret(NS, "taskora-secrets", {"jwt-secret": "k" * 40, "database-url": "x"})
    standin.add_pod(NS, "api-1", "api")
    target = _target(standin, kubectl, "doks")  # attaching needs no image: nothing is built
    deployment = target.attach()
    try:
        assert jwt.decode(deployment.token("u"), "k" * 40, algorithms=["HS256"])["sub"] == "u"
        assert httpx.get(f"{deployment.base_url}/ready", timeout=5).status_code == 200
        assert deployment.replicas == ["api-1"]
        assert target.run.calls == []  # no build, no apply, no helm
        assert not standin.calls_to("POST", r".*") and not standin.calls_to("PATCH", r".*")
    finally:
        target.down()
    assert not standin.calls_to("DELETE", r".*")
    assert standin.namespaces == {NS: "Active"}


def test_attach_without_a_deployment_says_so(standin: KubeStandIn, kubectl: str) -> None:
    with pytest.raises(TargetUnavailable, match=f"no taskora deployment in namespace {NS}"):
        _target(standin, kubectl).attach()


def test_without_dapr_cli_or_helm_says_how_to_install(standin: KubeStandIn, kubectl: str) -> None:
    standin.crds.clear()
    which = {"kind": "/bin/kind", "kubectl": kubectl}.get
    with pytest.raises(TargetUnavailable, match="dapr init -k.*helm") as caught:
        _target(standin, kubectl, image="taskora:dev", which=which).up()
    assert "\n" not in str(caught.value)


def test_replicas_by_role_kill_with_grace_0_and_crash(standin: KubeStandIn, kubectl: str) -> None:
    for name, role in [
        ("api-1", "api"),
        ("api-2", "api"),
        ("cons-1", "consumers"),
        ("sched-1", "scheduler"),
    ]:
        standin.add_pod(NS, name, role)
    target = _target(standin, kubectl)
    assert target.replicas() == ["api-1", "api-2"]
    assert target.replicas("consumers") == ["cons-1"]
    target.kill("api-1")
    (delete,) = standin.calls_to("DELETE", rf"/api/v1/namespaces/{NS}/pods/api-1")
    assert delete.query.get("gracePeriodSeconds") == "0"
    assert target.replicas() == ["api-2"]
    with pytest.raises(ValueError, match="no taskora pod"):
        target.kill("postgres-0")
    target.crash()
    (crash,) = standin.calls_to("DELETE", rf"/api/v1/namespaces/{NS}/pods")
    assert crash.query == {
        "labelSelector": "app.kubernetes.io/name=taskora",
        "gracePeriodSeconds": "0",
    }
    assert standin.pods == {}


def test_a_crashed_role_stays_down_until_restarted(standin: KubeStandIn, kubectl: str) -> None:
    standin.workloads[(NS, "deployments", "taskora-consumers")] = Workload(replicas=2, polls_left=0)
    for name, role in [("api-1", "api"), ("cons-1", "consumers"), ("cons-2", "consumers")]:
        standin.add_pod(NS, name, role)
    target = _target(standin, kubectl)
    target.base_url = "http://127.0.0.1:1"  # no forward here: /ready is the stand-in's
    target._wait_http_ready = lambda: None
    target.crash("consumers")
    assert target.replicas("consumers") == [] and target.replicas() == ["api-1"]
    (crash,) = standin.calls_to("DELETE", rf"/api/v1/namespaces/{NS}/pods")
    assert crash.query["labelSelector"].endswith("app.kubernetes.io/component=consumers")
    target.restart("consumers")
    scale = rf"/apis/apps/v1/namespaces/{NS}/deployments/taskora-consumers/scale"
    patches = standin.calls_to("PATCH", scale)
    assert [p.body["spec"]["replicas"] for p in patches] == [0, 2]  # down, then back to 2


@pytest.mark.parametrize(
    ("cluster", "kind", "name"),
    [("kind", "statefulsets", "redis"), ("doks", "statefulsets", "redpanda")],
)
def test_the_broker_is_scaled_to_zero_and_back(
    standin: KubeStandIn, kubectl: str, cluster: str, kind: str, name: str
) -> None:
    standin.workloads[(NS, kind, name)] = Workload(replicas=1, polls_left=0)
    target = _target(standin, kubectl, cluster, image="reg/taskora:1")
    target.stop_broker()
    target.start_broker()
    patches = standin.calls_to("PATCH", rf"/apis/apps/v1/namespaces/{NS}/{kind}/{name}/scale")
    assert [p.body["spec"]["replicas"] for p in patches] == [0, 1]
    assert target._unready() == []  # start_broker returned once it was ready again


def test_the_kafka_overlay_deploys_its_own_directory_and_its_broker_is_redpanda(
    standin: KubeStandIn, kubectl: str
) -> None:
    """``--target kind --overlay kind-kafka``: the same cluster, the overlay with Dapr over
    Kafka, and the chaos experiments take Redpanda away, not Redis."""
    rendered: list[str] = []
    target = _target(
        standin,
        kubectl,
        "kind",
        "kind-kafka",
        image="reg/taskora:1",
        render=lambda overlay: rendered.append(str(overlay)) or MANIFEST,
    )
    assert (target.name, target.cluster.overlay) == ("kind", "clusters/k8s/overlays/kind-kafka")
    standin.workloads[(NS, "statefulsets", "redpanda")] = Workload(replicas=1, polls_left=0)
    target.up()
    try:
        assert rendered == [str(target.root / "clusters/k8s/overlays/kind-kafka")]
        target.stop_broker()
        target.start_broker()
    finally:
        target.down()
    scale = rf"/apis/apps/v1/namespaces/{NS}/statefulsets/redpanda/scale"
    assert [p.body["spec"]["replicas"] for p in standin.calls_to("PATCH", scale)] == [0, 1]


@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_an_overlay_a_cluster_does_not_run_is_a_usage_error_naming_those_it_does(
    cluster: str,
) -> None:
    with pytest.raises(UsageError) as caught:
        CLUSTERS[cluster].with_overlay("nope")
    assert str(caught.value) == (
        f"--overlay 'nope': for --target {cluster} use one of "
        f"{', '.join(CLUSTERS[cluster].overlays)}"
    )
    assert CLUSTERS[cluster].with_overlay(None) is CLUSTERS[cluster]
    assert CLUSTERS[cluster].with_overlay(cluster) is CLUSTERS[cluster]


@pytest.mark.parametrize(
    ("cluster", "missing", "image"),
    [
        ("kind", "kind", None),
        ("minikube", "minikube", None),
        ("doks", "doctl", "r/taskora:1"),
        ("kind", "kubectl", None),
        ("minikube", "docker", None),
    ],
)
def test_preflight_names_the_missing_tool(
    standin: KubeStandIn, kubectl: str, cluster: str, missing: str, image: str | None
) -> None:
    target = _target(
        standin,
        kubectl,
        cluster,
        image=image,
        which=lambda tool: None if tool == missing else f"/bin/{tool}",
    )
    with pytest.raises(TargetUnavailable, match=f"needs `{missing}` on PATH") as caught:
        target.preflight()
    assert "\n" not in str(caught.value)


def test_preflight_without_a_docker_engine_says_to_pass_an_image(
    standin: KubeStandIn, kubectl: str
) -> None:
    target = _target(standin, kubectl)
    target.run.fail["info"] = "`docker info` failed (exit 1): Cannot connect to the Docker daemon"
    with pytest.raises(TargetUnavailable, match="Docker daemon.*pass --image"):
        target.preflight()
    target.image = "reg/taskora:1"
    target.preflight()  # with an image, Docker is not needed


def test_doks_needs_a_registry_image_and_a_database(standin: KubeStandIn, kubectl: str) -> None:
    with pytest.raises(UsageError, match="--image") as caught:
        _target(standin, kubectl, "doks").up()
    assert "\n" not in str(caught.value)
    with pytest.raises(TargetUnavailable, match="managed database: pass --database-url"):
        _target(standin, kubectl, "doks", image="reg/taskora:1").up()
    assert not standin.calls_to("POST", r".*/secrets")  # no half-made secrets


def test_a_failing_kubectl_apply_is_one_line_with_its_stderr(
    standin: KubeStandIn, kubectl: str
) -> None:
    target = _target(standin, kubectl, image="reg/taskora:1", run=run_command)
    with pytest.raises(TargetUnavailable) as caught:
        target.up()
    message = str(caught.value)
    assert "\n" not in message and "apply" in message
    assert message.endswith("error: the server rejected the manifest")
    target.down()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize(
    ("cluster", "name"), [(c, o) for c in sorted(CLUSTERS) for o in CLUSTERS[c].overlays]
)
def test_the_real_overlays_get_the_image_everywhere_taskora_runs(cluster: str, name: str) -> None:
    overlay = ROOT / CLUSTERS[cluster].with_overlay(name).overlay
    if not overlay.is_dir():
        pytest.skip(f"no overlay at {overlay}")
    rendered = run_command(["kubectl", "kustomize", str(overlay)])
    docs = list(yaml.safe_load_all(retarget_manifest(rendered, "reg.example/t:7", "elsewhere")))
    pods = [d["spec"]["template"]["spec"] for d in docs if d["kind"] == "Deployment"]
    images = {
        c["image"] for pod in pods for c in [*pod.get("initContainers", []), *pod["containers"]]
    }
    assert "reg.example/t:7" in images and not {i for i in images if "taskora:" in i}
    assert {
        d["metadata"].get("namespace", "elsewhere") for d in docs if d["kind"] != "Namespace"
    } <= {"elsewhere"}
    assert ".taskora.svc" not in yaml.safe_dump_all(docs)


def _wait(condition: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_port_forward_is_started_again_when_it_exits_or_goes_deaf() -> None:
    exits = PortForward(
        [sys.executable, "-c", "import time; time.sleep(0.2)"], restart_delay=0.05, check_every=0.1
    )
    exits.start()
    _wait(lambda: exits.starts >= 3)
    exits.stop()
    assert exits.child is None
    started = exits.starts
    time.sleep(0.3)
    assert exits.starts == started  # stopped means stopped

    deaf = PortForward(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        healthy=lambda: False,
        check_every=0.05,
        unhealthy_after=2,
        restart_delay=0.05,
    )
    deaf.start()
    first = deaf.child
    assert first is not None
    _wait(lambda: deaf.starts >= 2)
    assert first.poll() is not None  # the deaf one was killed, not left behind
    last = deaf.child
    deaf.stop()
    assert last is not None and last.poll() is not None
