#!/usr/bin/env bash
# The kind steps of the GitHub workflow (a cluster named "chat" must exist: helm/kind-action
# or scripts/kind/up.sh):
#   kind.sh load <folder>       load the saved image tarballs into the node
#   kind.sh install             helm install with helm-values/kind.yaml, --wait
#   kind.sh test                helm test (the smoke round trip, one client per chat pod)
#   kind.sh upgrade             upgrade with a changed value, wait, helm test again
#   kind.sh diagnostics <dir>   pods, events, descriptions and every container's logs
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${KIND_CLUSTER:-chat}
RELEASE=${RELEASE:-chat}
NS=${NAMESPACE:-default}
case "${1:-}" in
  load)
    for tarball in "${2:?folder}"/*.tar; do kind load image-archive --name "$CLUSTER" "$tarball"; done
    ;;
  install)
    helm install "$RELEASE" charts/chat -n "$NS" -f helm-values/kind.yaml --wait --timeout 10m
    kubectl get pods -n "$NS" -o wide
    ;;
  test)
    helm test "$RELEASE" -n "$NS" --logs --timeout 5m
    ;;
  upgrade)
    # A changed value must roll the pods (checksum annotations) and keep everything working.
    helm upgrade "$RELEASE" charts/chat -n "$NS" -f helm-values/kind.yaml --set chat.replicaCount=3 --wait --timeout 10m
    kubectl get pods -n "$NS" -o wide
    helm test "$RELEASE" -n "$NS" --logs --timeout 5m
    ;;
  diagnostics)
    out=${2:?folder}
    mkdir -p "$out"
    kubectl get all,pvc,events -A -o wide >"$out/overview.txt" 2>&1 || true
    kubectl describe pods -n "$NS" >"$out/pods-describe.txt" 2>&1 || true
    kubectl get events -n "$NS" --sort-by=.lastTimestamp >"$out/events.txt" 2>&1 || true
    for pod in $(kubectl get pods -n "$NS" -o name); do
      kubectl logs -n "$NS" "$pod" --all-containers --prefix >"$out/logs-${pod#pod/}.txt" 2>&1 || true
      kubectl logs -n "$NS" "$pod" --all-containers --prefix --previous >"$out/logs-${pod#pod/}-previous.txt" 2>/dev/null || true
    done
    helm status "$RELEASE" -n "$NS" >"$out/helm-status.txt" 2>&1 || true
    ;;
  *)
    echo "usage: kind.sh load <folder> | install | test | upgrade | diagnostics <folder>" >&2
    exit 2
    ;;
esac
