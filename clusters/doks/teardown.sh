#!/usr/bin/env bash
# Delete what create.sh made (see usage). Destroys the managed database and its data.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=clusters/doks/config.sh
. "$here/config.sh"

usage() {
    cat <<'USAGE'
Usage: clusters/doks/teardown.sh --yes [--registry]

Deletes the Kubernetes cluster $DOKS_CLUSTER (default taskora) with its load balancers and
volumes, the managed PostgreSQL $DOKS_DATABASE (its data is lost) and the cluster's kubeconfig
context; with --registry also the container registry and its images.
Nothing happens without --yes. Needs doctl on PATH.
USAGE
}

confirmed=false
registry=false
for arg in "$@"; do
    case "$arg" in
        --yes) confirmed=true ;;
        --registry) registry=true ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
if [ "$confirmed" != true ]; then
    usage >&2
    exit 2
fi
require doctl

if doctl kubernetes cluster get "$DOKS_CLUSTER" >/dev/null 2>&1; then
    echo "==> Deleting the cluster $DOKS_CLUSTER"
    doctl kubernetes cluster delete "$DOKS_CLUSTER" --dangerous --force
fi
db_id="$(database_id)"
if [ -n "$db_id" ]; then
    echo "==> Deleting the database $DOKS_DATABASE"
    doctl databases delete "$db_id" --force
fi
if [ "$registry" = true ] && doctl registry get >/dev/null 2>&1; then
    echo "==> Deleting the registry"
    doctl registry delete --force
fi
echo "Done."
