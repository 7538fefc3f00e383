#!/usr/bin/env bash
# One command from a clone to a running chat on kind:
# cluster (if missing) -> images built here -> loaded into the node -> helm install --wait -> helm test.
#   scripts/kind/up.sh            then open http://localhost:30080
# Env: CLUSTER (default chat), RELEASE (default chat), NAMESPACE (default chat), SKIP_BUILD=1,
# SKIP_TEST=1. Needs docker (a running daemon) or podman, kind, node and curl; helm is the one on
# PATH, else scripts/chart/install-helm.sh fetches helm 3.18 for this OS and CPU. With podman,
# kind runs with KIND_EXPERIMENTAL_PROVIDER=podman; images go to the node as archives
# (`<engine> save` + `kind load image-archive`), which works for both engines.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${CLUSTER:-chat}
RELEASE=${RELEASE:-chat}
NAMESPACE=${NAMESPACE:-chat}
VERSION=$(node -p "require('./package.json').version")
HELM=$(command -v helm || scripts/chart/install-helm.sh)
TARGETS=(auth users chat migrate frontend smoke)
. scripts/images/engine.sh
[ "$ENGINE" = podman ] && export KIND_EXPERIMENTAL_PROVIDER=${KIND_EXPERIMENTAL_PROVIDER:-podman}
archives=$(mktemp -d)
trap 'rm -rf "$archives"' EXIT
load() { # image
  local file
  file="$archives/$(echo "$1" | tr '/:' '__').tar"
  save_image "$1" "$file"
  kind load image-archive --name "$CLUSTER" "$file"
}

if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --config scripts/kind/kind-config.yaml --wait 120s
fi
[ "${SKIP_BUILD:-}" = 1 ] || scripts/images/build.sh "${TARGETS[@]}"
for t in "${TARGETS[@]}"; do load "chat-$t:$VERSION"; done
# Third-party images: preload them when this machine has them (else the node pulls them).
for img in $(node -e '
  const y = require("fs").readFileSync("charts/chat/charts/postgresql/values.yaml", "utf8") + require("fs").readFileSync("charts/chat/charts/redis/values.yaml", "utf8");
  console.log([...y.matchAll(/registry: (\S+)\n\s+repository: (\S+)\n\s+tag: .?([^\x27"\n]+)/g)].map(m => `${m[1]}/${m[2]}:${m[3]}`).join(" "))'); do
  if "$ENGINE" image inspect "$img" >/dev/null 2>&1; then load "$img"; fi
done

"$HELM" upgrade --install "$RELEASE" charts/chat -n "$NAMESPACE" --create-namespace \
  -f helm-values/kind.yaml --wait --timeout 10m
[ "${SKIP_TEST:-}" = 1 ] || "$HELM" test "$RELEASE" -n "$NAMESPACE" --logs
echo "chat is at http://localhost:30080"
