#!/usr/bin/env bash
# Runs the scripts the README gives users, the way it says, as far as they go without kind,
# minikube or a Docker daemon: stand-ins for `kind`, `minikube`, `helm` (and `docker`, `uname`,
# `curl` where a case needs them) on PATH record what they were asked to do; the checks below
# assert it. The image builds and `podman save` are real.
#   1. scripts/kind/up.sh with podman: cluster created, every image built by build.sh as the
#      README runs it (no TIMINGS; it used to exit 1 right after building; SKIP_BUILD=1 when
#      every image of this version exists, as after ci.yml's images job ran build.sh the same
#      way in .ci/run), saved with the real `podman save` as an archive
#      named as the chart names it and loaded with `kind load image-archive`, helm install, test;
#   2. scripts/kind/up.sh with a Docker daemon: buildx without attestations (--provenance=false
#      --sbom=false), `docker save` + `kind load image-archive`;
#   3. scripts/minikube/up.sh with podman (a `podman` stand-in writing the archive's manifest
#      only; case 1 made real ones): archives loaded with `minikube image load <file>`;
#   4. scripts/chart/install-helm.sh on macOS arm64: helm's darwin-arm64 release, checksum checked.
# Prints `user-scripts: N passed, M failed`.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/images/podman-env.sh
VERSION=$(node -p "require('./package.json').version")
TARGETS=(auth users chat migrate frontend smoke)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() { # description, command...
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "PASS $what"
  else
    failed=$((failed + 1))
    echo "FAIL $what"
  fi
}
has() { grep -qxF -- "$2" "$1"; }
# A stand-in: records "<name> <args>" in $CALLS, then runs its body.
stub() { # dir name body
  mkdir -p "$1"
  printf '#!/usr/bin/env bash\necho "%s $*" >>"$CALLS"\n%s\n' "$2" "$3" >"$1/$2"
  chmod +x "$1/$2"
}
# kind and minikube record, for each archive they are given, the image names inside it.
archive_names='f=${@: -1}; [ -f "$f" ] && echo "archive $(basename "$f") $(tar -xOf "$f" manifest.json | node -e "process.stdout.write(JSON.parse(require(\"fs\").readFileSync(0)).flatMap(m => m.RepoTags ?? []).join(\",\"))")" >>"$CALLS"; exit 0'
common() { # dir
  stub "$1" kind 'case "$1" in get) exit 0 ;; load) '"$archive_names"' ;; esac; exit 0'
  stub "$1" helm 'exit 0'
}

echo "--- 1. scripts/kind/up.sh, podman (no Docker daemon)"
bin="$work/kind-podman"
common "$bin"
stub "$bin" docker 'exit 1' # a docker CLI with no daemon behind it
export CALLS="$work/kind-podman.calls"
: >"$CALLS"
skip=1
for t in "${TARGETS[@]}"; do podman image exists "chat-$t:$VERSION" || skip=; done
[ -n "$skip" ] && echo "every chat-*:$VERSION image exists: SKIP_BUILD=1 (ci.yml's images job built them with the same build.sh call)"
SKIP_BUILD=$skip PATH="$bin:$PATH" scripts/kind/up.sh >"$work/kind-podman.log" 2>&1
status=$?
tail -3 "$work/kind-podman.log"
check "kind/up.sh (podman) exits 0 (exit $status)" [ "$status" -eq 0 ]
check "kind/up.sh creates the cluster from scripts/kind/kind-config.yaml" has "$CALLS" "kind create cluster --name chat --config scripts/kind/kind-config.yaml --wait 120s"
[ -n "$skip" ] || for t in "${TARGETS[@]}"; do check "build.sh (no TIMINGS) built chat-$t and went on" grep -q "built chat-$t:$VERSION" "$work/kind-podman.log"; done
for t in "${TARGETS[@]}"; do
  check "chat-$t: podman archive named docker.io/library/chat-$t:$VERSION, loaded with kind load image-archive" \
    has "$CALLS" "archive chat-${t}_${VERSION}.tar docker.io/library/chat-$t:$VERSION"
done
check "kind/up.sh never calls kind load docker-image (needs a Docker daemon)" bash -c "! grep -q 'kind load docker-image' '$CALLS'"
check "helm upgrade --install with helm-values/kind.yaml --wait" has "$CALLS" "helm upgrade --install chat charts/chat -n chat --create-namespace -f helm-values/kind.yaml --wait --timeout 10m"
check "helm test" has "$CALLS" "helm test chat -n chat --logs"

echo "--- 2. scripts/kind/up.sh, Docker daemon (stand-in): builds without attestations"
bin="$work/kind-docker"
common "$bin"
stub "$bin" docker 'case "$1" in info) exit 0 ;; save) touch "$3" ;; image) exit 1 ;; esac; exit 0'
export CALLS="$work/kind-docker.calls"
: >"$CALLS"
PATH="$bin:$PATH" scripts/kind/up.sh >"$work/kind-docker.log" 2>&1
status=$?
check "kind/up.sh (docker) exits 0 (exit $status)" [ "$status" -eq 0 ]
for t in "${TARGETS[@]}"; do
  check "chat-$t: docker buildx build --load --provenance=false --sbom=false" \
    grep -q "^docker buildx build --load --provenance=false --sbom=false .*--target $t " "$CALLS"
  check "chat-$t: docker save, then kind load image-archive" grep -q "^kind load image-archive --name chat .*/chat-${t}_${VERSION}.tar$" "$CALLS"
done

echo "--- 3. scripts/minikube/up.sh, podman"
bin="$work/minikube"
stub "$bin" helm 'exit 0'
stub "$bin" docker 'exit 1'
stub "$bin" minikube 'case "$1" in status) exit 1 ;; -p) [ "$3" = service ] && echo http://192.0.2.1:30080; [ "$3" = image ] && { '"$archive_names"'; } ;; esac; exit 0'
# podman: `save` writes an archive holding only the manifest with the name it was given.
stub "$bin" podman 'case "$1" in save) d=$(mktemp -d); printf "[{\"RepoTags\":[\"%s\"]}]" "${@: -1}" >"$d/manifest.json"; tar -cf "${@: -2:1}" -C "$d" manifest.json; rm -rf "$d" ;; esac; exit 0'
export CALLS="$work/minikube.calls"
: >"$CALLS"
SKIP_BUILD=1 PATH="$bin:$PATH" scripts/minikube/up.sh >"$work/minikube.log" 2>&1
status=$?
tail -2 "$work/minikube.log"
check "minikube/up.sh (podman, SKIP_BUILD=1) exits 0 (exit $status)" [ "$status" -eq 0 ]
check "minikube/up.sh prints the service URL" grep -q "chat is at http://192.0.2.1:30080" "$work/minikube.log"
check "minikube start -p chat when the profile is not running" has "$CALLS" "minikube start -p chat --cpus 2 --memory 4g"
for t in "${TARGETS[@]}"; do
  check "chat-$t: minikube image load of a podman archive named docker.io/library/chat-$t:$VERSION" \
    has "$CALLS" "archive chat-$t.tar docker.io/library/chat-$t:$VERSION"
done
check "helm upgrade --install with helm-values/minikube.yaml on the profile's context" \
  has "$CALLS" "helm upgrade --install chat charts/chat -n chat --create-namespace --kube-context chat -f helm-values/minikube.yaml --wait --timeout 10m"

echo "--- 4. scripts/chart/install-helm.sh on macOS arm64 (uname and curl stand-ins)"
bin="$work/mac"
stub "$bin" uname '[ "$1" = -s ] && echo Darwin || echo arm64'
mkdir -p "$work/release/darwin-arm64"
printf '#!/bin/sh\necho v3.18.0\n' >"$work/release/darwin-arm64/helm"
tar -czf "$work/release.tgz" -C "$work/release" darwin-arm64
sum=$(sha256sum "$work/release.tgz" | cut -d' ' -f1)
stub "$bin" curl 'out=${@: -1}; case "$2" in *.sha256sum) echo "'"$sum"'  helm.tgz" >"$out" ;; *) cp "'"$work/release.tgz"'" "$out" ;; esac'
export CALLS="$work/mac.calls"
: >"$CALLS"
helm=$(CHAT_TOOLS_CACHE="$work/cache" PATH="$bin:$PATH" bash scripts/chart/install-helm.sh)
check "install-helm.sh fetches helm-v3.18.0-darwin-arm64.tar.gz" grep -q "^curl -fsSL https://get.helm.sh/helm-v3.18.0-darwin-arm64.tar.gz -o " "$CALLS"
check "install-helm.sh prints a runnable darwin-arm64 helm ($helm)" bash -c "[ \"\$('$helm' version)\" = v3.18.0 ]"
stub "$bin" curl 'out=${@: -1}; case "$2" in *.sha256sum) echo "0000  helm.tgz" >"$out" ;; *) cp "'"$work/release.tgz"'" "$out" ;; esac'
CHAT_TOOLS_CACHE="$work/cache2" PATH="$bin:$PATH" bash scripts/chart/install-helm.sh >/dev/null 2>&1
check "install-helm.sh refuses a download whose sha256 does not match" [ $? -ne 0 ]

echo "user-scripts: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
