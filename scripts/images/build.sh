#!/usr/bin/env bash
# Builds every image target with Docker when an engine answers, otherwise with podman.
#   scripts/images/build.sh [target ...]        (default: all targets)
# Env: IMAGE_PREFIX (e.g. ghcr.io/you/), VERSION (default: package.json), CACHE=gha in GitHub
# Actions (buildx layer cache; ignored by podman), PULL=never to use
# local bases only, CA_BUNDLE=path to lend an extra CA bundle to the npm steps (a build
# secret: it is not kept in any image; default: NODE_EXTRA_CA_CERTS when it names a file, as
# behind a proxy that re-signs TLS), TIMINGS=file to append "target seconds" lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/images
TARGETS=(auth users chat migrate frontend smoke all-in-one)
[ $# -gt 0 ] && TARGETS=("$@")
VERSION=${VERSION:-$(node -p "require('./package.json').version")}
REVISION=${REVISION:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
PREFIX=${IMAGE_PREFIX:-}

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  # No attestations: with them `--load` stores an image index whose attestation manifest
  # `docker save` cannot export with the containerd image store (Docker 29), and
  # `kind load image-archive` then fails with "content digest ... not found" (kind #3795, #4236).
  engine=(docker buildx build --load --provenance=false --sbom=false)
else
  . "$here/podman-env.sh"
  engine=(podman build --format docker --layers)
  [ "${PULL:-}" = never ] && engine+=(--pull=never)
fi
secret=()
CA_BUNDLE=${CA_BUNDLE:-${NODE_EXTRA_CA_CERTS:-}}
if [ -n "$CA_BUNDLE" ] && [ -f "$CA_BUNDLE" ]; then secret=(--secret "id=ca,src=$CA_BUNDLE"); fi

for target in "${TARGETS[@]}"; do
  start=$(date +%s)
  cache=()
  # In GitHub Actions: the layer cache lives in the Actions cache, a scope per target.
  if [ "${CACHE:-}" = gha ]; then
    if [ "${engine[0]}" = docker ]; then cache=(--cache-from "type=gha,scope=$target" --cache-to "type=gha,mode=max,scope=$target")
    else echo "CACHE=gha: podman has no gha cache; building with its local layer cache"; fi
  fi
  "${engine[@]}" "${secret[@]}" "${cache[@]}" --target "$target" \
    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" \
    -t "${PREFIX}chat-$target:$VERSION" -t "${PREFIX}chat-$target:dev" .
  secs=$(( $(date +%s) - start ))
  echo "built ${PREFIX}chat-$target:$VERSION in ${secs}s"
  if [ -n "${TIMINGS:-}" ]; then echo "$target $secs" >>"$TIMINGS"; fi
done
