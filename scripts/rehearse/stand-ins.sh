#!/usr/bin/env bash
# Local stand-ins for the third-party images the chart runs (official postgres, valkey), built
# from Debian's packages and tagged with the chart's exact image names, for a rehearsal on a
# machine that cannot pull: PostgreSQL 15 behind an entrypoint that behaves like the official
# image's, and Debian's Redis 7 answering to valkey-server/valkey-cli. Skips existing tags.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../images/podman-env.sh"
PG_IMAGE=${1:?postgres image name}
KV_IMAGE=${2:?valkey image name}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d /var/tmp/chat-standins.XXXXXX)
trap 'rm -rf "$work"' EXIT
slim() {
  chroot "$1" apt-get clean
  rm -rf "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/locale/*
}
if ! podman image exists "$PG_IMAGE"; then
  echo "stand-in: $PG_IMAGE (Debian PostgreSQL 15)"
  debootstrap --variant=minbase --include=postgresql-15,postgresql-client-15 bookworm "$work/pg" "$MIRROR" >/dev/null
  slim "$work/pg"
  # The official image's postgres user is 999; Debian's package picked another id.
  echo 'pg999:x:999:999:postgres:/var/lib/postgresql:/bin/sh' >>"$work/pg/etc/passwd"
  echo 'pg999:x:999:' >>"$work/pg/etc/group"
  # As in the official image: the socket directory is world-writable (sticky, setgid) and
  # the data directory belongs to 999.
  mkdir -p "$work/pg/run/postgresql" "$work/pg/var/lib/postgresql/data"
  chown -R 999:999 "$work/pg/run/postgresql" "$work/pg/var/lib/postgresql"
  chmod 3777 "$work/pg/run/postgresql"
  install -m 0755 "$here/pg-entrypoint.sh" "$work/pg/usr/local/bin/docker-entrypoint.sh"
  ln -sf /usr/lib/postgresql/15/bin/postgres "$work/pg/usr/local/bin/postgres"
  tar -C "$work/pg" -c . | podman import --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin' - "$PG_IMAGE" >/dev/null
fi
if ! podman image exists "$KV_IMAGE"; then
  echo "stand-in: $KV_IMAGE (Debian Redis 7)"
  debootstrap --variant=minbase --include=redis-server bookworm "$work/kv" "$MIRROR" >/dev/null
  slim "$work/kv"
  ln -sf /usr/bin/redis-server "$work/kv/usr/local/bin/valkey-server"
  ln -sf /usr/bin/redis-cli "$work/kv/usr/local/bin/valkey-cli"
  mkdir -p "$work/kv/data"
  tar -C "$work/kv" -c . | podman import --change 'CMD ["valkey-server"]' --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$KV_IMAGE" >/dev/null
fi
