#!/usr/bin/env bash
# Start the Minikube profile `taskora` (kubeconfig context `taskora`) with the ingress and
# metrics-server addons. `nox -s cluster-up -- minikube` runs this, then installs Dapr.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: clusters/minikube/start.sh [-h]

Starts (or resumes) the Minikube profile "taskora" with the ingress and metrics-server addons.
Environment: MINIKUBE_CPUS (default 4), MINIKUBE_MEMORY (default 8g), MINIKUBE_DRIVER (default:
minikube's choice), MINIKUBE_KUBERNETES_VERSION (default: minikube's default).
Delete it with: minikube delete -p taskora
USAGE
}

if [ "$#" -gt 0 ]; then
    usage
    [ "$1" = "-h" ] || [ "$1" = "--help" ] || exit 2
    exit 0
fi
command -v minikube >/dev/null || { echo "minikube not found: https://minikube.sigs.k8s.io/docs/start/" >&2; exit 2; }

args=(start --profile taskora --cpus "${MINIKUBE_CPUS:-4}" --memory "${MINIKUBE_MEMORY:-8g}"
      --addons ingress --addons metrics-server)
[ -n "${MINIKUBE_DRIVER:-}" ] && args+=(--driver "${MINIKUBE_DRIVER}")
[ -n "${MINIKUBE_KUBERNETES_VERSION:-}" ] && args+=(--kubernetes-version "${MINIKUBE_KUBERNETES_VERSION}")
minikube "${args[@]}"
