"""The Kubernetes target, shared by kind, Minikube and DOKS (``clusters.py`` holds what differs).

``up`` builds and loads the image (or takes ``--image``), installs Dapr when the cluster has
none, creates the namespace and the Secrets the manifests expect (never committed: a random JWT
secret, and a random PostgreSQL password on clusters with an in-cluster database), renders the
cluster's Kustomize overlay with the image set, applies it server-side and times apply -> every
Deployment and StatefulSet ready (SC-001). The API is reached through ``--url`` (an ingress) or a
supervised ``kubectl port-forward``. ``kill`` deletes one pod with grace 0, ``crash`` every
taskora pod at once, the broker is scaled to 0 and back, ``down`` deletes the namespace when
``up`` created it (a deployment that was there before stays; never Dapr, never the cluster).
The Kubernetes client is imported only when a cluster target is used.
"""

from __future__ import annotations

import atexit
import base64
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import TargetUnavailable, UsageError
from harness.readiness import Readiness, answers, wait_ready
from harness.targets import Capabilities, Deployment
from harness.targets.clusters import Cluster
from harness.targets.commands import Runner, run_command
from harness.targets.manifests import retarget_manifest
from harness.targets.port_forward import PortForward
from harness.targets.throwaway import free_port
from harness.targets.tokens import token_factory

__all__ = ["KubernetesTarget"]

ROOT = Path(__file__).resolve().parents[2]
TASKORA = "app.kubernetes.io/name=taskora"
DAPR_CRD = "components.dapr.io"
PART = "taskora"  # app.kubernetes.io/part-of
SCALE_API = {"deployment": "deployment", "statefulset": "stateful_set"}


def _kubernetes() -> Any:
    try:
        import kubernetes
    except ImportError:
        raise TargetUnavailable("Kubernetes targets need `pip install 'taskora[k8s]'`") from None
    return kubernetes


def _decode(data: dict[str, str] | None) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in (data or {}).items()}


class KubernetesTarget:
    capabilities = Capabilities(kill=True, deploy_timing=True, crash=True, broker=True)
    store_url: str | None = None  # the database is not the harness's to reach

    def __init__(
        self,
        cluster: Cluster,
        *,
        image: str | None = None,
        context: str | None = None,
        namespace: str = "taskora",
        url: str | None = None,
        jwt_secret: str | None = None,
        database_url: str | None = None,
        ready_timeout: float = 600.0,
        poll_interval: float = 2.0,
        root: Path = ROOT,
        run: Runner = run_command,
        render: Callable[[Path], str] | None = None,
        api_client: Any = None,
        which: Callable[[str], str | None] = shutil.which,
        kubectl: Sequence[str] = ("kubectl",),
    ) -> None:
        self.cluster, self.name = cluster, cluster.name
        self.image, self.namespace, self.url = image, namespace, url
        self.context = context or cluster.context
        self.jwt_secret, self.database_url = jwt_secret, database_url
        self.ready_timeout, self.poll_interval = ready_timeout, poll_interval
        self.root, self.run, self.which = root, run, which
        self.render = render or self.kustomize
        self.kubectl = list(kubectl)
        self._api = api_client
        self._current_context: str | None = self.context if api_client is not None else None
        self.forward: PortForward | None = None
        self.base_url: str | None = None
        self._touched = False  # this target created the namespace, so down() deletes it
        self._stopped: dict[tuple[str, str], int] = {}  # (kind, name) scaled to 0 -> replicas

    # Tools, client, errors

    def _kubectl(self) -> list[str]:
        context = ["--context", self.context] if self.context else []
        return [*self.kubectl, *context, "-n", self.namespace]

    def kustomize(self, overlay: Path, *, files_outside: bool = False) -> str:
        """The overlay rendered by ``kubectl kustomize``; ``files_outside``: it may read files
        outside its own directory (the Locust layout takes the locustfile from loadtests/)."""
        if not overlay.is_dir():
            raise TargetUnavailable(f"no Kustomize overlay at {overlay}")
        loosened = ["--load-restrictor", "LoadRestrictionsNone"] if files_outside else []
        return self.run([*self.kubectl, "kustomize", *loosened, str(overlay)], timeout=120)

    def _client(self) -> Any:
        if self._api is None:
            config = _kubernetes().config
            hint = f"create it with `{self.cluster.create_hint}`"
            try:
                contexts, active = config.list_kube_config_contexts()
            except (config.ConfigException, OSError):
                raise TargetUnavailable(f"--target {self.name}: no kubeconfig; {hint}") from None
            self._current_context = (active or {}).get("name")
            self.context = self.context or self._current_context
            if self.context not in {c["name"] for c in contexts}:
                raise TargetUnavailable(
                    f"--target {self.name}: no kube context {self.context!r}; {hint}"
                )
            self._api = config.new_client_from_config(context=self.context)
        return self._api

    def core(self) -> Any:
        return _kubernetes().client.CoreV1Api(self._client())

    def apps(self) -> Any:
        return _kubernetes().client.AppsV1Api(self._client())

    def batch(self) -> Any:
        return _kubernetes().client.BatchV1Api(self._client())

    @contextmanager
    def api_errors(self, what: str) -> Iterator[None]:
        import urllib3

        try:
            yield
        except _kubernetes().client.ApiException as exc:
            raise TargetUnavailable(f"{what}: Kubernetes API {exc.status} {exc.reason}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise TargetUnavailable(f"{what}: the Kubernetes API is unreachable ({exc})") from None

    def _read(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``call(*args, **kwargs)``, or None when the object does not exist."""
        with self.api_errors(f"{call.__name__.replace('_', ' ')} {args[0]}"):
            try:
                return call(*args, **kwargs)
            except _kubernetes().client.ApiException as exc:
                if exc.status == 404:
                    return None
                raise

    # Target protocol

    def preflight(self) -> None:
        for tool, hint in self.cluster.tools(builds_image=self.image is None):
            if self.which(tool) is None:
                raise TargetUnavailable(f"--target {self.name} needs `{tool}` on PATH ({hint})")
        if self.image is None:
            try:
                self.run(["docker", "info"], timeout=30)
            except TargetUnavailable as exc:
                raise TargetUnavailable(
                    f"--target {self.name} builds the image with Docker, which does not answer "
                    f"({exc}): start Docker or pass --image"
                ) from None
        self._client()

    def check_image(self) -> None:
        """A UsageError (one line) when the cluster pulls from a registry and no image is given:
        worth calling before anything else."""
        if self.cluster.registry_image_only and not self.image:
            raise UsageError(
                f"--target {self.name} needs --image <registry>/taskora:<tag> "
                "(the cluster pulls from a registry; push the image there first)"
            )

    def up(self) -> Deployment:
        self.check_image()
        self.preflight()
        image = self.image or self.cluster.prepare_image(self.run, self.root)
        self._ensure_dapr()
        self._ensure_namespace()
        jwt_secret = self._ensure_secrets()
        manifest = retarget_manifest(
            self.render(self.root / self.cluster.overlay), image, self.namespace
        )
        atexit.register(self.down)
        started = time.monotonic()
        self.run(
            [
                *self._kubectl(),
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager",
                "taskora-harness",
                "-f",
                "-",
            ],
            stdin=manifest,
        )
        self._wait_workloads()
        deploy_seconds = time.monotonic() - started
        self.base_url = self._reach()
        self._wait_http_ready()
        return Deployment(
            target=self.name,
            base_url=self.base_url,
            token=token_factory(jwt_secret),
            replicas=self.replicas(),
            deploy_seconds=deploy_seconds,
            reaches_every_replica=self.forward is None,
        )

    def attach(self) -> Deployment:
        """The deployment already running in the namespace (``chaos run``): nothing is built or
        applied, and ``down`` only stops the port-forward."""
        if self.which("kubectl") is None:
            raise TargetUnavailable(f"--target {self.name} needs `kubectl` on PATH")
        secret = self._secret("taskora-secrets")
        if secret is None or not secret.get("jwt-secret"):
            raise TargetUnavailable(
                f"no taskora deployment in namespace {self.namespace} of kube context "
                f"{self.context}: deploy it first ({self.cluster.overlay} or the chart)"
            )
        atexit.register(self.down)
        self.base_url = self._reach()
        self._wait_http_ready()
        token = token_factory(secret["jwt-secret"])
        return Deployment(
            self.name,
            self.base_url,
            token,
            replicas=self.replicas(),
            reaches_every_replica=self.forward is None,
        )

    def replicas(self, role: str | None = None) -> list[str]:
        """Running taskora pods of ``role`` (default: the API pods, what serves requests)."""
        return self._pods(f"{TASKORA},app.kubernetes.io/component={role or 'api'}")

    def _pods(self, selector: str) -> list[str]:
        with self.api_errors("list pods"):
            pods = self.core().list_namespaced_pod(self.namespace, label_selector=selector)
        return sorted(
            pod.metadata.name
            for pod in pods.items
            if pod.status is not None
            and pod.status.phase == "Running"
            and pod.metadata.deletion_timestamp is None
        )

    def kill(self, replica: str) -> None:
        """Delete one taskora pod with grace 0; its ReplicaSet starts another."""
        if replica not in self._pods(TASKORA):
            raise ValueError(f"no taskora pod {replica!r}; pods: {self._pods(TASKORA)}")
        self._read(
            self.core().delete_namespaced_pod, replica, self.namespace, grace_period_seconds=0
        )

    def crash(self, role: str | None = None) -> None:
        """Delete every taskora pod at once, grace 0 (their ReplicaSets start new ones); or take
        one role away: its Deployment scaled to 0 and its pods deleted, until ``restart(role)``.
        The database and the broker stay."""
        if role:
            self._scale_to_zero("deployment", f"taskora-{role}")
        selector = f"{TASKORA},app.kubernetes.io/component={role}" if role else TASKORA
        with self.api_errors("delete the taskora pods"):
            self.core().delete_collection_namespaced_pod(
                self.namespace, label_selector=selector, grace_period_seconds=0
            )

    def restart(self, role: str | None = None) -> None:
        """Bring the role back to its replicas (the ReplicaSets restart a crashed service by
        themselves); wait until every workload is up and /ready answers."""
        if role:
            self._scale_back("deployment", f"taskora-{role}")
        self._wait_workloads()
        self._wait_http_ready()

    def stop_broker(self) -> None:
        self._scale_to_zero(*self.cluster.broker)

    def start_broker(self) -> None:
        self._scale_back(*self.cluster.broker)
        self._wait_workloads()

    def _scale_to_zero(self, kind: str, name: str) -> None:
        """Remember the workload's replicas, then scale it to 0."""
        read = getattr(self.apps(), f"read_namespaced_{SCALE_API[kind]}_scale")
        with self.api_errors(f"scale {kind} {name}"):
            replicas = read(name, self.namespace).spec.replicas or 0
        self._stopped.setdefault((kind, name), max(1, replicas))
        self._scale(kind, name, 0)

    def _scale_back(self, kind: str, name: str) -> None:
        self._scale(kind, name, self._stopped.pop((kind, name), 1))

    def _scale(self, kind: str, name: str, replicas: int) -> None:
        patch = getattr(self.apps(), f"patch_namespaced_{SCALE_API[kind]}_scale")
        with self.api_errors(f"scale {kind} {name}"):
            patch(name, self.namespace, {"spec": {"replicas": replicas}})

    def down(self) -> None:
        atexit.unregister(self.down)
        if self.forward is not None:
            self.forward.stop()
            self.forward = None
        if not self._touched:
            return
        self._touched = False
        core = self.core()
        self._read(core.delete_namespace, self.namespace)
        deadline = time.monotonic() + 180
        while self._read(core.read_namespace, self.namespace) is not None:
            if time.monotonic() >= deadline:
                return  # it goes on terminating on its own
            time.sleep(self.poll_interval)

    # Steps of up()

    def _ensure_dapr(self) -> None:
        extensions = _kubernetes().client.ApiextensionsV1Api(self._client())
        if self._read(extensions.read_custom_resource_definition, DAPR_CRD) is not None:
            return
        if self.which("dapr") and self.context == self._current_context:
            self.run(["dapr", "init", "-k", "--wait"], timeout=900)  # the current context only
        elif self.which("helm"):
            self.run(
                [
                    "helm",
                    "repo",
                    "add",
                    "dapr",
                    "https://dapr.github.io/helm-charts",
                    "--force-update",
                ],
                timeout=120,
            )
            self.run(
                [
                    "helm",
                    "--kube-context",
                    str(self.context),
                    "upgrade",
                    "--install",
                    "dapr",
                    "dapr/dapr",
                    "-n",
                    "dapr-system",
                    "--create-namespace",
                    "--wait",
                ],
                timeout=900,
            )
        else:
            raise TargetUnavailable(
                f"Dapr is not installed in {self.context}: install the dapr CLI (`dapr init -k`) "
                "or helm (chart dapr/dapr) and run again"
            )

    def _ensure_namespace(self) -> None:
        core, client = self.core(), _kubernetes().client
        deadline = time.monotonic() + 180
        while (namespace := self._read(core.read_namespace, self.namespace)) is not None:
            if namespace.status is None or namespace.status.phase != "Terminating":
                break
            if time.monotonic() >= deadline:
                raise TargetUnavailable(f"namespace {self.namespace} is still terminating")
            time.sleep(self.poll_interval)
        if namespace is None:
            body = client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace))
            with self.api_errors(f"create namespace {self.namespace}"):
                core.create_namespace(body)
            self._touched = True  # ours to delete; a namespace that was there stays (DOKS)

    def _secret(self, name: str) -> dict[str, str] | None:
        secret = self._read(self.core().read_namespaced_secret, name, self.namespace)
        return None if secret is None else _decode(secret.data)

    def _create_secret(self, name: str, values: dict[str, str]) -> None:
        client = _kubernetes().client
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=name, labels={"app.kubernetes.io/part-of": "taskora"}
            ),
            string_data=values,
        )
        with self.api_errors(f"create Secret {name}"):
            self.core().create_namespaced_secret(self.namespace, body)

    def _ensure_secrets(self) -> str:
        """Create the Secrets the manifests need when they are missing; the JWT secret."""
        existing = self._secret("taskora-secrets")
        password = None
        if self.cluster.in_cluster_database:
            credentials = self._secret("postgres-credentials")
            if credentials is None:
                known = urlsplit(existing.get("database-url", "")).password if existing else None
                password = known or secrets.token_hex(24)
                self._create_secret("postgres-credentials", {"password": password})
            else:
                password = credentials.get("password", "")
        if existing is not None:
            if not existing.get("jwt-secret"):
                raise TargetUnavailable(
                    f"Secret taskora-secrets in {self.namespace} has no jwt-secret"
                )
            self._ensure_app_token()
            return existing["jwt-secret"]
        database_url = self.database_url or (
            f"postgresql://taskora:{password}@postgres:5432/taskora" if password else None
        )
        if database_url is None:
            raise TargetUnavailable(
                f"--target {self.name} uses a managed database: pass --database-url or create the "
                f"Secret taskora-secrets (jwt-secret, database-url) in namespace {self.namespace}"
            )
        jwt_secret = self.jwt_secret or secrets.token_urlsafe(48)
        self._create_secret(
            "taskora-secrets", {"jwt-secret": jwt_secret, "database-url": database_url}
        )
        self._ensure_app_token()
        return jwt_secret

    def _ensure_app_token(self) -> None:
        """The token the Dapr sidecars bring on every call to the app (kept if it exists)."""
        if self._secret("taskora-app-token") is None:
            self._create_secret("taskora-app-token", {"token": secrets.token_hex(32)})

    def _unready(self) -> list[str]:
        """The Deployments and StatefulSets of the namespace that are not ready yet."""
        apps = self.apps()
        with self.api_errors("read the workloads"):
            deployments = apps.list_namespaced_deployment(self.namespace).items
            statefulsets = apps.list_namespaced_stateful_set(self.namespace).items
        pending = []
        for kind, items in (("deployment", deployments), ("statefulset", statefulsets)):
            for item in items:
                want = 1 if item.spec.replicas is None else item.spec.replicas
                status = item.status
                ready = status is not None and (
                    (status.observed_generation or 0) >= (item.metadata.generation or 0)
                    and (status.updated_replicas or 0) >= want
                    and (status.available_replicas or 0) >= want
                    and (status.ready_replicas or 0) >= want
                )
                if not ready:
                    pending.append(f"{kind}/{item.metadata.name}")
        return pending if deployments or statefulsets else ["(no workloads yet)"]

    def _wait_workloads(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while pending := self._unready():
            if time.monotonic() >= deadline:
                raise TargetUnavailable(
                    f"not ready {self.ready_timeout:.0f} s after apply: {', '.join(pending)}"
                )
            time.sleep(self.poll_interval)

    def _reach(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        self.forward = PortForward(
            [*self._kubectl(), "port-forward", "svc/taskora", f"{port}:8000"],
            healthy=lambda: answers(f"{base_url}/health"),
            restart_delay=1.0,
            log=Path(tempfile.gettempdir()) / f"taskora-port-forward-{port}.log",
        )
        self.forward.start()
        return base_url

    def _wait_http_ready(self) -> None:
        url = f"{self.base_url}/ready"
        every = min(self.poll_interval, 0.5)
        if wait_ready(url, timeout=self.ready_timeout, every=every) is not Readiness.READY:
            raise TargetUnavailable(f"{url} did not answer 200 within {self.ready_timeout:.0f} s")
