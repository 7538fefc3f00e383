#!/usr/bin/env bash
# One command from a clone to a running chat on minikube:
# cluster (if stopped) -> images built here -> `minikube image load` -> helm install --wait -> helm test.
#   scripts/minikube/up.sh        then open the URL it prints
# Env: PROFILE (default chat), RELEASE (default chat), NAMESPACE (default chat), SKIP_BUILD=1,
# SKIP_TEST=1. Needs docker (a running daemon) or podman, minikube, node and curl; helm is the one
# on PATH, else scripts/chart/install-helm.sh fetches helm 3.18 for this OS and CPU. Images go to
# the cluster as archives (`<engine> save` + `minikube image load <file>`), for both engines.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROFILE=${PROFILE:-chat}
RELEASE=${RELEASE:-chat}
NAMESPACE=${NAMESPACE:-chat}
VERSION=$(node -p "require('./package.json').version")
HELM=$(command -v helm || scripts/chart/install-helm.sh)
TARGETS=(auth users chat migrate frontend smoke)
. scripts/images/engine.sh
archives=$(mktemp -d)
trap 'rm -rf "$archives"' EXIT

minikube status -p "$PROFILE" >/dev/null 2>&1 || minikube start -p "$PROFILE" --cpus 2 --memory 4g
[ "${SKIP_BUILD:-}" = 1 ] || scripts/images/build.sh "${TARGETS[@]}"
for t in "${TARGETS[@]}"; do
  save_image "chat-$t:$VERSION" "$archives/chat-$t.tar"
  minikube -p "$PROFILE" image load "$archives/chat-$t.tar"
done

"$HELM" upgrade --install "$RELEASE" charts/chat -n "$NAMESPACE" --create-namespace \
  --kube-context "$PROFILE" -f helm-values/minikube.yaml --wait --timeout 10m
[ "${SKIP_TEST:-}" = 1 ] || "$HELM" test "$RELEASE" -n "$NAMESPACE" --kube-context "$PROFILE" --logs
echo "chat is at $(minikube -p "$PROFILE" service "$RELEASE-frontend" -n "$NAMESPACE" --url)"
