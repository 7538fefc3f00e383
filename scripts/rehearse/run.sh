#!/usr/bin/env bash
# `npm run rehearse [-- --profile kind|minikube|cloud] [-- helm args] [--stop-one chat]`: the
# chart rendered with helm-values/<profile>.yaml, run on podman like a cluster (cluster DNS,
# Service addresses, NetworkPolicies in nftables) with the real images (built first if
# missing) and local stand-ins for the third-party images, then `helm test`. `--mutations`
# instead proves it fails on deliberately broken renders. See docs/rehearsal.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/images/podman-env.sh
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null || ! command -v nft >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq podman buildah runc debootstrap nftables >/dev/null
fi
export HELM=${HELM:-$(bash scripts/chart/install-helm.sh | tail -1)}
VERSION=$(node -p "require('./package.json').version")
missing=()
for t in auth users chat migrate frontend smoke; do podman image exists "chat-$t:$VERSION" || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  bash scripts/images/local-bases.sh
  PULL=never CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt} bash scripts/images/build.sh "${missing[@]}"
fi
# The third-party images the chart names, made locally when they cannot be pulled.
images=$("$HELM" template chat charts/chat -f helm-values/kind.yaml | awk '/image:/ { print $2 }' | tr -d '"' | sort -u)
pg=$(grep -m1 postgres <<<"$images" || true)
kv=$(grep -m1 -E 'valkey|redis' <<<"$images" || true)
if [ -n "$pg" ] && [ -n "$kv" ] && ! { podman image exists "$pg" && podman image exists "$kv"; }; then
  bash scripts/rehearse/stand-ins.sh "$pg" "$kv"
fi
if [ "${1:-}" = --mutations ]; then
  shift
  exec node scripts/rehearse/mutations.mjs "$@"
fi
exec node scripts/rehearse/rehearse.mjs "$@"
