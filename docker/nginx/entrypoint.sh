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
envsubst '${AUTH_UPSTREAM} ${USERS_UPSTREAM} ${CHAT_UPSTREAM} ${LISTEN_PORT} ${RESOLVER} ${WORKER_PROCESSES}' \
  < /etc/chat/chat.conf.template > /tmp/nginx/nginx.conf
exec nginx -c /tmp/nginx/nginx.conf -g 'daemon off;'
