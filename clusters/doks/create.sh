#!/usr/bin/env bash
# Bring up Taskora's DigitalOcean infrastructure (see usage). Safe to re-run: existing resources
# are kept, and the JWT secret of an existing taskora-secrets Secret is reused.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=clusters/doks/config.sh
. "$here/config.sh"

usage() {
    cat <<'USAGE'
Usage: clusters/doks/create.sh [-h]

Creates on DigitalOcean, with doctl (authenticated first: doctl auth init):
  - the Kubernetes cluster $DOKS_CLUSTER (default taskora; $DOKS_NODES nodes of $DOKS_NODE_SIZE in
    $DOKS_REGION) and saves its kubeconfig as the current kubectl context;
  - the container registry $DOKS_REGISTRY, connected to the cluster for image pulls;
  - the managed PostgreSQL $DOKS_DATABASE ($DOKS_DATABASE_SIZE) with a database "taskora",
    reachable only from the cluster (trusted source);
  - the Secret taskora-secrets in the namespace taskora: jwt-secret (random) and database-url
    (from the managed database's connection, sslmode=require), and taskora-app-token (token:
    random), which the Dapr sidecars bring on every call to the app;
  - cert-manager, ingress-nginx (DigitalOcean load balancer) and Dapr (dapr init -k).
Then deploy with: kubectl apply -k clusters/k8s/overlays/doks
Needs doctl, kubectl and dapr on PATH. Tear down with clusters/doks/teardown.sh --yes.
USAGE
}

case "${1:-}" in
    "") ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac
require doctl kubectl dapr

echo "==> Kubernetes cluster $DOKS_CLUSTER"
if ! doctl kubernetes cluster get "$DOKS_CLUSTER" >/dev/null 2>&1; then
    doctl kubernetes cluster create "$DOKS_CLUSTER" --region "$DOKS_REGION" \
        --node-pool "name=${DOKS_CLUSTER}-pool;size=${DOKS_NODE_SIZE};count=${DOKS_NODES}" \
        --wait
fi
doctl kubernetes cluster kubeconfig save "$DOKS_CLUSTER"
cluster_id="$(doctl kubernetes cluster get "$DOKS_CLUSTER" --format ID --no-header)"

echo "==> Container registry $DOKS_REGISTRY"
if ! doctl registry get >/dev/null 2>&1; then
    doctl registry create "$DOKS_REGISTRY" --region "$DOKS_REGION"
fi
doctl kubernetes cluster registry add "$DOKS_CLUSTER"

echo "==> Managed PostgreSQL $DOKS_DATABASE"
db_id="$(database_id)"
if [ -z "$db_id" ]; then
    doctl databases create "$DOKS_DATABASE" --engine pg --version "$DOKS_DATABASE_VERSION" \
        --region "$DOKS_REGION" --size "$DOKS_DATABASE_SIZE" --num-nodes 1 --wait
    db_id="$(database_id)"
fi
doctl databases db get "$db_id" taskora >/dev/null 2>&1 || doctl databases db create "$db_id" taskora
doctl databases firewalls append "$db_id" --rule "k8s:$cluster_id" >/dev/null
# The admin connection, pointed at the database "taskora" (the service runs its migrations there).
admin_uri="$(doctl databases connection "$db_id" --format URI --no-header)"
database_url="${admin_uri/\/defaultdb\?//taskora?}"

echo "==> Namespace $NAMESPACE and Secret taskora-secrets"
kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
jwt_secret="$(kubectl -n "$NAMESPACE" get secret taskora-secrets -o jsonpath='{.data.jwt-secret}' 2>/dev/null | base64 -d || true)"
if [ -z "$jwt_secret" ]; then
    jwt_secret="$(head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n')"
fi
kubectl -n "$NAMESPACE" create secret generic taskora-secrets \
    --from-literal=jwt-secret="$jwt_secret" --from-literal=database-url="$database_url" \
    --dry-run=client -o yaml | kubectl apply -f -
# The token the Dapr sidecars bring on every call to the app (kept if it exists).
if ! kubectl -n "$NAMESPACE" get secret taskora-app-token >/dev/null 2>&1; then
    kubectl -n "$NAMESPACE" create secret generic taskora-app-token \
        --from-literal=token="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
fi
# The pull Secret the pods' ServiceAccount names (overlays/doks), for images in this registry.
doctl registry kubernetes-manifest --name registry-credentials --namespace "$NAMESPACE" \
    | kubectl apply -f -

echo "==> cert-manager $CERT_MANAGER_VERSION"
kubectl apply -f "https://github.com/cert-manager/cert-manager/releases/download/${CERT_MANAGER_VERSION}/cert-manager.yaml"
kubectl -n cert-manager rollout status deployment/cert-manager-webhook --timeout=300s

echo "==> ingress-nginx $INGRESS_NGINX_VERSION"
kubectl apply -f "https://raw.githubusercontent.com/kubernetes/ingress-nginx/${INGRESS_NGINX_VERSION}/deploy/static/provider/do/deploy.yaml"
kubectl -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=300s

echo "==> Dapr"
kubectl get namespace dapr-system >/dev/null 2>&1 || dapr init -k --wait

echo "Done. Context: $(kubectl config current-context). Deploy: kubectl apply -k clusters/k8s/overlays/doks"
