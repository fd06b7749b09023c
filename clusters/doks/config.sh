# shellcheck shell=bash
# Names and sizes shared by create.sh and teardown.sh; every value can be overridden from the
# environment. Sourced, not run.
DOKS_CLUSTER="${DOKS_CLUSTER:-taskora}"
DOKS_REGION="${DOKS_REGION:-fra1}"
DOKS_NODE_SIZE="${DOKS_NODE_SIZE:-s-4vcpu-8gb}"
DOKS_NODES="${DOKS_NODES:-3}"
DOKS_REGISTRY="${DOKS_REGISTRY:-taskora}"
DOKS_DATABASE="${DOKS_DATABASE:-taskora-db}"
DOKS_DATABASE_SIZE="${DOKS_DATABASE_SIZE:-db-s-1vcpu-2gb}"
DOKS_DATABASE_VERSION="${DOKS_DATABASE_VERSION:-16}"
NAMESPACE="${NAMESPACE:-taskora}"
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.16.2}"
INGRESS_NGINX_VERSION="${INGRESS_NGINX_VERSION:-controller-v1.12.0}"

require() {  # require TOOL... : stop with a one-line message naming the first missing tool
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "error: $tool not found on PATH: install it and retry" >&2; exit 2; }
    done
}

database_id() {  # the id of the managed database named $DOKS_DATABASE, empty if there is none
    doctl databases list --format ID,Name --no-header | awk -v name="$DOKS_DATABASE" '$2 == name { print $1 }'
}
