#!/usr/bin/env bash
# Saves every built image (chat-<target>:<version>) as a tarball into a folder, for a later
# job (kind load) or another machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: save.sh <folder>}
mkdir -p "$out"
VERSION=${VERSION:-$(node -p "require('./package.json').version")}
tool=docker
command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 || tool=podman
for target in auth users chat migrate frontend smoke all-in-one; do
  "$tool" save -o "$out/chat-$target.tar" "chat-$target:$VERSION"
done
ls -la "$out"
