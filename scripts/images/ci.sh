#!/usr/bin/env bash
# Builds every image with podman on this machine and runs them for real:
# - auth, users and chat (read-only root, numeric non-root user, no capabilities) against
#   the machine's PostgreSQL answer /health/ready, after the migrate image ran;
# - the frontend gateway on the same podman network reaches them by their names and
#   carries a real register, login and Socket.IO round trip (the smoke check), both from the
#   host and from the smoke image inside the network;
# - the all-in-one image serves the client and passes the smoke check on its own;
# - each image's size is checked against its budget in docs/images.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/images
start=$(date +%s)
log() { printf '\n--- images: %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

log "tools"
if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman buildah runc debootstrap >/dev/null
fi
. "$here/podman-env.sh"

log "base images"
bash "$here/local-bases.sh"

VERSION=$(node -p "require('./package.json').version")
timings=$(mktemp)
if [ -n "${IMAGES_PREBUILT:-}" ]; then
  # .ci/run: ci.yml's images job built every target from this tree a few minutes ago.
  log "build: skipped (IMAGES_PREBUILT: built by ci.yml's images job from this tree)"
  for t in $(grep -oE '^TARGETS=\(.*\)' "$here/build.sh" | sed 's/^TARGETS=(//; s/)$//'); do
    podman image exists "chat-$t:$VERSION" || { echo "FAIL: IMAGES_PREBUILT but chat-$t:$VERSION is missing"; exit 1; }
    echo "$t -" >>"$timings"
  done
else
  log "build"
  PULL=never CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt} TIMINGS="$timings" bash "$here/build.sh" >/tmp/chat-images-build.log 2>&1 || {
    tail -40 /tmp/chat-images-build.log
    exit 1
  }
fi

log "sizes and budgets (docs/images.md)"
fail=0
printf '%-18s %10s %10s %8s\n' image size budget build
while read -r target secs; do
  bytes=$(podman image inspect --format '{{.Size}}' "chat-$target:$VERSION")
  mb=$(( bytes / 1000000 ))
  budget=$(grep -E "^\| \`chat-$target\` " docs/images.md | awk -F'|' '{ gsub(/[^0-9]/, "", $4); print $4 }')
  if [ -z "$budget" ]; then echo "no budget for chat-$target in docs/images.md"; fail=1; continue; fi
  printf '%-18s %7s MB %7s MB %7ss\n' "chat-$target" "$mb" "$budget" "$secs"
  if [ "$mb" -gt "$budget" ]; then echo "FAIL: chat-$target is $mb MB, over its budget of $budget MB"; fail=1; fi
done <"$timings"
[ "$fail" -eq 0 ] || exit 1

net="chat-img-$$"
db="chat_img_$$"
# 20000+r and 20001+r, the containers 30001+r..30005+r below: disjoint for every pid.
fwd_port=$(( 20000 + $$ % 10000 ))
containers=()
cleanup() {
  set +e
  for c in "${containers[@]}"; do podman rm -f -t 2 "$c" >/dev/null 2>&1; done
  podman network rm -f "$net" >/dev/null 2>&1
  [ -n "${dns_dir:-}" ] && rm -rf "$dns_dir"
  podman volume rm -f "chat-img-data-$$" >/dev/null 2>&1
  [ -n "${fwd:-}" ] && kill "$fwd" 2>/dev/null
  [ -n "${fwd_redis:-}" ] && kill "$fwd_redis" 2>/dev/null
  psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres >/dev/null 2>&1
}
trap cleanup EXIT

log "run the service images against the machine's PostgreSQL"
psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE $db" postgres
# No podman DNS: podman 4.3's aardvark-dns drops queries while a container joins (likely why a
# CI run's gateway gave no answer for 10 s). The rehearsal's DNS server answers instead, from a file
# this script writes as each container starts; any other name is NXDOMAIN.
podman network create --disable-dns "$net" >/dev/null
gw=$(podman network inspect "$net" --format '{{range .Subnets}}{{.Gateway}}{{end}}')
node "$here/tcp-forward.mjs" "$fwd_port" 127.0.0.1:5432 &
fwd=$!
db_url="postgres://postgres@$gw:$fwd_port/$db"
# Redis too, as the chart gives it to every service: a logout in auth reaches chat through it.
node "$here/tcp-forward.mjs" $((fwd_port + 1)) 127.0.0.1:6379 &
fwd_redis=$!
redis=(-e REDIS_URL="redis://$gw:$((fwd_port + 1))" -e REDIS_KEY_PREFIX="chat-img-$$")
dns_dir=$(mktemp -d)
chmod 755 "$dns_dir"
echo '{"domain":"cluster.local","records":{}}' >"$dns_dir/dns.json"
containers+=("$net-dns")
podman run -d --name "$net-dns" --no-healthcheck --network "$net" --user 0:0 \
  -v "$PWD/scripts/rehearse:/dns:ro" -v "$dns_dir:/state:ro" --entrypoint '["node", "/dns/dns-server.mjs", "/state"]' \
  "chat-smoke:$VERSION" >/dev/null
ip_of() { podman inspect --format "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$1"; }
dns_ip=$(ip_of "$net-dns")
declare -A records=()
publish() { # name ip: add an A record
  records[$1]=$2
  local json='' k
  for k in "${!records[@]}"; do json+="${json:+,}\"$k\":[\"${records[$k]}\"]"; done
  echo "{\"domain\":\"cluster.local\",\"records\":{$json}}" >"$dns_dir/dns.json.tmp"
  mv "$dns_dir/dns.json.tmp" "$dns_dir/dns.json"
}
hardened=(--no-healthcheck --read-only --tmpfs /tmp:rw,size=16m --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges --network "$net"
  --dns "$dns_ip")

podman run --rm "${hardened[@]}" -e DATABASE_URL="$db_url" "chat-migrate:$VERSION"
key=$(node -e "const {generateKeyPairSync}=require('node:crypto'); process.stdout.write(generateKeyPairSync('ec',{namedCurve:'prime256v1'}).privateKey.export({format:'pem',type:'pkcs8'}))")
run() { # name alias host-port image env...
  local name=$1 alias=$2 port=$3 image=$4
  shift 4
  containers+=("$name")
  podman run -d --name "$name" "${hardened[@]}" -p "127.0.0.1:$port:${CONTAINER_PORT:-3000}" "$@" "$image" >/dev/null
  publish "$alias" "$(ip_of "$name")"
}
base_port=$(( 30000 + $$ % 10000 ))
run "$net-auth" auth $((base_port + 1)) "chat-auth:$VERSION" -e DATABASE_URL="$db_url" "${redis[@]}" -e JWT_PRIVATE_KEY="$key" -e TRUST_PROXY=1
jwks=http://auth:3000/api/auth/jwks.json
run "$net-users" users $((base_port + 2)) "chat-users:$VERSION" -e DATABASE_URL="$db_url" "${redis[@]}" -e AUTH_JWKS_URL=$jwks -e TRUST_PROXY=1
run "$net-chat" chat $((base_port + 3)) "chat-chat:$VERSION" -e DATABASE_URL="$db_url" "${redis[@]}" -e AUTH_JWKS_URL=$jwks -e TRUST_PROXY=1
ready() { # url, name
  for _ in $(seq 1 80); do
    curl -sf "$1" >/dev/null && { echo "ready: $2 ($1)"; return 0; }
    sleep 0.5
  done
  echo "FAIL: $2 never became ready at $1"
  podman logs "$2" 2>&1 | tail -20
  return 1
}
ready "http://127.0.0.1:$((base_port + 1))/health/ready" "$net-auth"
ready "http://127.0.0.1:$((base_port + 2))/health/ready" "$net-users"
ready "http://127.0.0.1:$((base_port + 3))/health/ready" "$net-chat"
for c in "$net-auth" "$net-users" "$net-chat"; do
  [ "$(podman inspect --format '{{.Config.User}}' "$c")" = "10001:10001" ] || { echo "FAIL: $c does not run as 10001"; exit 1; }
done

log "the frontend gateway, on the same network, proxies a real chat round trip"
CONTAINER_PORT=8080 run "$net-frontend" frontend $((base_port + 4)) "chat-frontend:$VERSION"
containers+=("$net-smoke")
podman run -d --name "$net-smoke" "${hardened[@]}" -e SMOKE_URL=http://frontend:8080 \
  --entrypoint '["sleep", "600"]' "chat-smoke:$VERSION" >/dev/null
gateway="http://127.0.0.1:$((base_port + 4))"
ready "$gateway/healthz" "$net-frontend"
curl -sf "$gateway/" | grep -q '<div id="app">' || { echo "FAIL: the gateway does not serve the client"; exit 1; }
curl -sf "$gateway/some/client/route" | grep -q '<div id="app">' || { echo "FAIL: no SPA fallback"; exit 1; }
logs_on_failure() {
  local c
  for c in "$net-frontend" "$net-auth" "$net-users" "$net-chat"; do
    echo "--- last lines of $c"
    podman logs "$c" 2>&1 | tail -15
  done
  return 1
}
node scripts/smoke/smoke.mjs "$gateway" || logs_on_failure
echo "smoke image inside the network, through the gateway's name:"
podman exec "$net-smoke" node smoke.mjs || logs_on_failure

log "the all-in-one image on its own (embedded database on a volume)"
podman volume create "chat-img-data-$$" >/dev/null
containers+=("$net-aio")
podman run -d --name "$net-aio" --no-healthcheck --read-only --tmpfs /tmp --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges \
  -v "chat-img-data-$$:/data" -p "127.0.0.1:$((base_port + 5)):3000" "chat-all-in-one:$VERSION" >/dev/null
ready "http://127.0.0.1:$((base_port + 5))/health/ready" "$net-aio"
node scripts/smoke/smoke.mjs "http://127.0.0.1:$((base_port + 5))"

log "SIGTERM: each service exits 0 within its grace period"
for c in "$net-chat" "$net-users" "$net-auth" "$net-frontend"; do
  t0=$(date +%s%N)
  podman stop -t 15 "$c" >/dev/null
  code=$(podman inspect --format '{{.State.ExitCode}}' "$c")
  echo "$c stopped in $(( ($(date +%s%N) - t0) / 1000000 )) ms, exit $code"
  [ "$code" = 0 ] || { echo "FAIL: $c exited $code on SIGTERM; its last log lines:"; podman logs --tail 20 "$c" 2>&1; exit 1; }
done
log "images: all checks passed"
