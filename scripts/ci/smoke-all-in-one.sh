#!/usr/bin/env bash
# The `helm test` smoke check against the built all-in-one (embedded database in a temp dir),
# then a SIGTERM that must end the process with exit 0. Needs `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${SMOKE_PORT:-3900}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
PORT=$port DATA_DIR="$dir" LOG_LEVEL=warn node backend/dist/apps/all.main.js &
server=$!
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.5; done
status=0
node scripts/smoke/smoke.mjs "http://127.0.0.1:$port" || status=$?
kill -TERM "$server"
if ! wait "$server"; then
  echo "FAILED: the all-in-one did not exit 0 on SIGTERM"
  exit 1
fi
exit $status
