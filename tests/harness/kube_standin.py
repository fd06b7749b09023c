"""A stand-in for the few Kubernetes API calls the cluster targets make, for tests without a
cluster: a small threaded HTTP server answering the real REST paths the ``kubernetes`` client
calls (namespaces, secrets, pods and their logs, Deployments and StatefulSets with their scale,
Jobs, one CRD) from an in-memory state, recording every call. It is not a Kubernetes API
server: no watch, no resource versions, no validation beyond what the tests need; a workload
becomes ready after ``ready_after`` lists of its kind (or reads of it), a Job is done after
``ready_after`` reads of its status, and a deleted namespace is gone after one more read.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.servers import ServingThread

__all__ = ["Call", "KubeStandIn", "Workload"]

NOT_FOUND = {
    "kind": "Status",
    "apiVersion": "v1",
    "status": "Failure",
    "reason": "NotFound",
    "code": 404,
}
STATUS_OK = {"kind": "Status", "apiVersion": "v1", "status": "Success"}


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any = None


@dataclass
class Workload:
    replicas: int
    polls_left: int


@dataclass
class KubeStandIn:
    ready_after: int = 3
    namespaces: dict[str, str] = field(default_factory=dict)  # name -> phase
    secrets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # base64 data
    pods: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # -> labels
    workloads: dict[tuple[str, str, str], Workload] = field(default_factory=dict)  # ns, kind, name
    crds: set[str] = field(default_factory=set)
    jobs: dict[tuple[str, str], Workload] = field(default_factory=dict)  # ns, name -> polls left
    logs: dict[tuple[str, str], str] = field(default_factory=dict)  # ns, pod -> its log
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with standin.lock:
                    standin.calls.append(Call(self.command, url.path, query, body))
                    status, answer = standin.answer(self.command, url.path, query, body)
                text = isinstance(answer, str)  # a pod's log
                data = answer.encode() if text else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if text else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PATCH = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.runner = ServingThread(self.server)  # stop() ends and joins every thread

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> KubeStandIn:
        self.runner.start()
        return self

    def stop(self) -> None:
        self.runner.stop()

    # What the tests plant and read

    def add_pod(self, namespace: str, name: str, component: str) -> None:
        labels = {"app.kubernetes.io/name": "taskora", "app.kubernetes.io/component": component}
        self.pods[(namespace, name)] = labels

    def add_secret(self, namespace: str, name: str, values: dict[str, str]) -> None:
        self.secrets[(namespace, name)] = {
            k: base64.b64encode(v.encode()).decode() for k, v in values.items()
        }

    def secret(self, namespace: str, name: str) -> dict[str, str]:
        data = self.secrets[(namespace, name)]
        return {k: base64.b64decode(v).decode() for k, v in data.items()}

    def apply(self, docs: list[dict[str, Any]], namespace: str) -> None:
        """What ``kubectl apply`` would create: the workloads, not ready yet."""
        with self.lock:
            for doc in docs:
                kind = {"Deployment": "deployments", "StatefulSet": "statefulsets"}.get(doc["kind"])
                if kind:
                    replicas = int(doc.get("spec", {}).get("replicas", 1))
                    key = (namespace, kind, doc["metadata"]["name"])
                    self.workloads[key] = Workload(replicas, self.ready_after)
                elif doc["kind"] == "Job":  # one pod, labelled as the Job controller does
                    name = doc["metadata"]["name"]
                    self.jobs[(namespace, name)] = Workload(1, self.ready_after)
                    self.pods[(namespace, f"{name}-x7k2p")] = {"job-name": name}

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path)]

    # The REST paths

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        routes = [
            ("GET", r"/api/v1/namespaces/([^/]+)", self._read_namespace),
            ("DELETE", r"/api/v1/namespaces/([^/]+)", self._delete_namespace),
            ("POST", r"/api/v1/namespaces", self._create_namespace),
            ("GET", r"/api/v1/namespaces/([^/]+)/secrets/([^/]+)", self._read_secret),
            ("POST", r"/api/v1/namespaces/([^/]+)/secrets", self._create_secret),
            ("GET", r"/api/v1/namespaces/([^/]+)/pods", self._list_pods),
            ("DELETE", r"/api/v1/namespaces/([^/]+)/pods", self._delete_pods),
            ("DELETE", r"/api/v1/namespaces/([^/]+)/pods/([^/]+)", self._delete_pod),
            ("GET", r"/api/v1/namespaces/([^/]+)/pods/([^/]+)/log", self._log),
            ("GET", r"/apis/apps/v1/namespaces/([^/]+)/(deployments|statefulsets)", self._list),
            (
                "GET",
                r"/apis/apps/v1/namespaces/([^/]+)/(deployments|statefulsets)/([^/]+)",
                self._read_workload,
            ),
            ("GET", r"/apis/batch/v1/namespaces/([^/]+)/jobs/([^/]+)/status", self._job),
            ("GET", r"/apis/apps/v1/namespaces/([^/]+)/(\w+)/([^/]+)/scale", self._scale),
            ("PATCH", r"/apis/apps/v1/namespaces/([^/]+)/(\w+)/([^/]+)/scale", self._scale),
            ("GET", r"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/([^/]+)", self._crd),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return handler(*match.groups(), query=query, body=body)
        return 404, NOT_FOUND

    def _read_namespace(self, name: str, **_: Any) -> tuple[int, Any]:
        phase = self.namespaces.get(name)
        if phase is None:
            return 404, NOT_FOUND
        if phase == "Terminating":
            del self.namespaces[name]  # gone after this read
        return 200, {"metadata": {"name": name}, "status": {"phase": phase}}

    def _create_namespace(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        self.namespaces[body["metadata"]["name"]] = "Active"
        return 201, body

    def _delete_namespace(self, name: str, **_: Any) -> tuple[int, Any]:
        if name not in self.namespaces:
            return 404, NOT_FOUND
        self.namespaces[name] = "Terminating"
        for key in [k for k in self.secrets if k[0] == name]:
            del self.secrets[key]
        return 200, STATUS_OK

    def _read_secret(self, namespace: str, name: str, **_: Any) -> tuple[int, Any]:
        data = self.secrets.get((namespace, name))
        if data is None:
            return 404, NOT_FOUND
        return 200, {"metadata": {"name": name, "namespace": namespace}, "data": data}

    def _create_secret(self, namespace: str, *, body: Any, **_: Any) -> tuple[int, Any]:
        values = dict(body.get("stringData") or {})  # the API server folds stringData into data
        self.add_secret(namespace, body["metadata"]["name"], values)
        return 201, body

    def _selected(self, namespace: str, selector: str) -> list[str]:
        wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
        return sorted(
            name
            for (ns, name), labels in self.pods.items()
            if ns == namespace and all(labels.get(k) == v for k, v in wanted.items())
        )

    def _pod(self, namespace: str, name: str) -> dict[str, Any]:
        labels = self.pods[(namespace, name)]
        return {
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "status": {"phase": "Running"},
        }

    def _list_pods(self, namespace: str, *, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        names = self._selected(namespace, query.get("labelSelector", ""))
        return 200, {"items": [self._pod(namespace, name) for name in names]}

    def _delete_pod(self, namespace: str, name: str, **_: Any) -> tuple[int, Any]:
        if (namespace, name) not in self.pods:
            return 404, NOT_FOUND
        pod = self._pod(namespace, name)
        del self.pods[(namespace, name)]
        return 200, pod

    def _delete_pods(self, namespace: str, *, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        for name in self._selected(namespace, query.get("labelSelector", "")):
            del self.pods[(namespace, name)]
        return 200, STATUS_OK

    def _workload(self, namespace: str, kind: str, name: str, item: Workload) -> dict[str, Any]:
        ready = item.replicas if item.polls_left <= 0 else 0
        counts = {
            "replicas": item.replicas,
            "readyReplicas": ready,
            "updatedReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": 1,
        }
        labels = {"app": name}
        return {
            "metadata": {"name": name, "namespace": namespace, "generation": 1},
            "spec": {
                "replicas": item.replicas,
                "selector": {"matchLabels": labels},
                "serviceName": name,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": name, "image": name}]},
                },
            },
            "status": counts,
        }

    def _list(self, namespace: str, kind: str, **_: Any) -> tuple[int, Any]:
        items = []
        for (ns, k, name), item in sorted(self.workloads.items()):
            if ns == namespace and k == kind:
                items.append(self._workload(ns, k, name, item))
                item.polls_left -= 1
        return 200, {"items": items}

    def _read_workload(self, namespace: str, kind: str, name: str, **_: Any) -> tuple[int, Any]:
        item = self.workloads.get((namespace, kind, name))
        if item is None:
            return 404, NOT_FOUND
        answer = self._workload(namespace, kind, name, item)
        item.polls_left -= 1
        return 200, answer

    def _job(self, namespace: str, name: str, **_: Any) -> tuple[int, Any]:
        item = self.jobs.get((namespace, name))
        if item is None:
            return 404, NOT_FOUND
        item.polls_left -= 1
        status = {"succeeded": 1} if item.polls_left <= 0 else {"active": 1}
        metadata = {"name": name, "namespace": namespace}
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "status": status}
        return 200, job

    def _log(self, namespace: str, name: str, **_: Any) -> tuple[int, Any]:
        if (namespace, name) not in self.pods:
            return 404, NOT_FOUND
        return 200, self.logs.get((namespace, name), "")

    def _scale(
        self, namespace: str, kind: str, name: str, *, body: Any, **_: Any
    ) -> tuple[int, Any]:
        item = self.workloads.get((namespace, kind, name))
        if item is None:
            return 404, NOT_FOUND
        if body is not None:
            item.replicas = int(body["spec"]["replicas"])
            item.polls_left = self.ready_after
        replicas = {"replicas": item.replicas}
        return 200, {"metadata": {"name": name}, "spec": replicas, "status": replicas}

    def _crd(self, name: str, **_: Any) -> tuple[int, Any]:
        if name not in self.crds:
            return 404, NOT_FOUND
        group = name.split(".", 1)[1]
        return 200, {
            "metadata": {"name": name},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": name.split(".")[0], "kind": "Component"},
                "versions": [{"name": "v1alpha1", "served": True, "storage": True}],
            },
        }
