#!/bin/sh
# Renders the config into /tmp (the root filesystem may be read-only), then replaces itself
# with nginx, so nginx is PID 1 and gets the signals.
set -eu
if [ "${1:-}" = "healthcheck" ]; then
  exec curl -fsS -o /dev/null "http://127.0.0.1:${LISTEN_PORT}/healthz"
fi
mkdir -p /tmp/nginx
# A resolver lets nginx re-resolve the Services at run time; default: the pod's nameserver.
if [ -z "${RESOLVER}" ]; then
  RESOLVER=$(awk '/^nameserver/ { print ($2 ~ /:/) ? "[" $2 "]" : $2; exit }' /etc/resolv.conf)
fi
export RESOLVER
# Worker processes: a number, never `auto` (one per node core); the chart sizes memory from it.
WORKER_PROCESSES=${WORKER_PROCESSES:-2}
export WORKER_PROCESSES
# Uploads: the chat service's UPLOAD_MAX_BYTES (the chart sets both from global.uploads.maxBytes);
# the body may be that plus 64 KiB of multipart framing, as the service allows.
UPLOAD_MAX_BYTES=${UPLOAD_MAX_BYTES:-26214400}
case "$UPLOAD_MAX_BYTES" in '' | *[!0-9]*) echo "UPLOAD_MAX_BYTES must be a number of bytes" >&2; exit 1 ;; esac
UPLOAD_BODY_MAX=$((UPLOAD_MAX_BYTES + 65536))
export UPLOAD_MAX_BYTES UPLOAD_BODY_MAX
envsubst '${AUTH_UPSTREAM} ${USERS_UPSTREAM} ${CHAT_UPSTREAM} ${LISTEN_PORT} ${RESOLVER} ${WORKER_PROCESSES} ${UPLOAD_MAX_BYTES} ${UPLOAD_BODY_MAX}' \
  < /etc/chat/chat.conf.template > /tmp/nginx/nginx.conf
exec nginx -c /tmp/nginx/nginx.conf -g 'daemon off;'
