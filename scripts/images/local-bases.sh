#!/usr/bin/env bash
# Makes the base images the Dockerfile names (NODE_IMAGE, NGINX_IMAGE) on a machine that
# cannot pull them: a Debian bookworm rootfs from Debian's own mirror, plus Node from the
# host for the node image and Debian's nginx for the nginx image. Skips tags that exist.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/podman-env.sh"
NODE_IMAGE=${NODE_IMAGE:-node:20-bookworm-slim}
NGINX_IMAGE=${NGINX_IMAGE:-nginx:1.27-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d /var/tmp/chat-bases.XXXXXX)
trap 'rm -rf "$work"' EXIT

have() { podman image exists "$1" || podman image exists "docker.io/library/$1"; }
tag_all() { # short names resolve to docker.io/library/<name>; tag that and localhost/<name>
  podman tag "$1" "docker.io/library/$2" "localhost/$2"
}

rootfs() { # $1 dir, $2 extra packages
  debootstrap --variant=minbase --include="$2" bookworm "$1" "$MIRROR" >/dev/null
  chroot "$1" apt-get clean
  rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/usr/share/doc/* "$1"/usr/share/man/*
}

if ! have "$NODE_IMAGE"; then
  echo "local base: $NODE_IMAGE (Debian bookworm + host Node $(node -v))"
  rootfs "$work/node" ca-certificates,libstdc++6
  node_bin=$(command -v node)
  npm_dir=$(dirname "$(dirname "$node_bin")")/lib/node_modules/npm
  install -D -m 0755 "$node_bin" "$work/node/usr/local/bin/node"
  mkdir -p "$work/node/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$work/node/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$work/node/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$work/node/usr/local/bin/npx"
  id=$(tar -C "$work/node" -c . | podman import --change 'CMD ["node"]' --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "local-node-base")
  tag_all "$id" "$NODE_IMAGE"
fi

if ! have "$NGINX_IMAGE"; then
  echo "local base: $NGINX_IMAGE (Debian bookworm nginx-light)"
  rootfs "$work/nginx" ca-certificates,nginx-light,gettext-base,curl
  # The official image runs as uid 101; give it a name here too.
  echo 'nginx:x:101:101:nginx:/nonexistent:/usr/sbin/nologin' >> "$work/nginx/etc/passwd"
  echo 'nginx:x:101:' >> "$work/nginx/etc/group"
  id=$(tar -C "$work/nginx" -c . | podman import --change 'CMD ["nginx", "-g", "daemon off;"]' - "local-nginx-base")
  tag_all "$id" "$NGINX_IMAGE"
fi
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "node|nginx" || true
