#!/usr/bin/env bash
# The chart's alerts and dashboard, tested with Debian's Prometheus and promtool (no cluster):
#  1. render the chart (ci/all-features-values.yaml) and take the PrometheusRule's spec and the
#     dashboard ConfigMap's JSON out of it: what a cluster would get;
#  2. `promtool check rules`, then `promtool test rules` with charts/chat/ci/alerts-test.yaml
#     (every alert firing and not firing), and mutants of the rules that the tests must catch;
#  3. every dashboard query as a recording rule through `promtool check rules` (it parses);
#  4. a local stand-in for the cluster's Prometheus: Debian's prometheus scrapes two real backend
#     processes (the all-in-one and the chat service alone, on PostgreSQL and one Redis) with the
#     labels a ServiceMonitor gives (namespace, job = Service, service, pod, container, endpoint)
#     and loads the rendered rules; traffic (scripts/ops/traffic.mjs, messages fanned out across
#     the two) in two rounds; then every panel query must return data through the HTTP API
#     (scripts/ops/panels.mjs), and a deliberately broken panel query must fail.
# Not emulated: ServiceMonitor discovery, kube-state-metrics, the kubelet (docs/operations.md).
# One PASS/FAIL line per check, "ops: N passed, M failed", exit 1 on any failure.
#   scripts/ops/ci.sh
# Needs: prometheus and promtool (apt-get install prometheus), node, backend/dist (built when
# missing), PostgreSQL (OPS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test: a
# database is created next to it and dropped) and Redis (OPS_REDIS_URL, default
# redis://127.0.0.1:6379, keys under a unique prefix, deleted; needs redis-cli for that).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
start=$(date +%s)
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
tmp=$(mktemp -d)
pids=()
db_url=${OPS_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
redis_url=${OPS_REDIS_URL:-redis://127.0.0.1:6379}
db_name="chat_ops_$$"
redis_prefix="ops$$"
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  psql -q "$db_url" -c "DROP DATABASE IF EXISTS $db_name" >/dev/null 2>&1 || true
  redis-cli -u "$redis_url" --scan --pattern "$redis_prefix:*" 2>/dev/null | xargs -r redis-cli -u "$redis_url" del >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

for tool in promtool prometheus; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool not found (apt-get install prometheus)"; echo "ops: 0 passed, 1 failed"; exit 1; }
done
echo "$(prometheus --version 2>&1 | head -1)"
HELM=$(scripts/chart/install-helm.sh) || { echo "FAIL helm: could not install"; exit 1; }
[ -f backend/dist/apps/all.main.js ] || npm run build -w backend >/dev/null || { echo "FAIL backend build"; exit 1; }
chart=charts/chat

echo "== render"
if "$HELM" template chat "$chart" -n chat -f "$chart/ci/all-features-values.yaml" >"$tmp/all.yaml" 2>"$tmp/err"; then pass "render ci/all-features-values.yaml"
else fail "render"; sed 's/^/    /' "$tmp/err"; fi
mkdir -p "$tmp/rules"
if node -e '
  const { parseAllDocuments, stringify } = require("yaml");
  const fs = require("fs");
  const [file, dir, json] = process.argv.slice(1);
  const docs = parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const rule = docs.find((d) => d.kind === "PrometheusRule");
  const cm = docs.find((d) => d.kind === "ConfigMap" && d.data?.["chat.json"]);
  if (!rule || !cm) process.exit(1);
  fs.writeFileSync(`${dir}/chat-rules.yaml`, stringify(rule.spec, { lineWidth: 0 }));
  fs.writeFileSync(`${dir}/dashboard.json`, cm.data["chat.json"]);
  if (cm.metadata.labels.grafana_dashboard !== "1" || cm.metadata.annotations?.grafana_folder !== "Chat") process.exit(2);
  if (fs.readFileSync(json, "utf8") !== cm.data["chat.json"]) process.exit(3);' "$tmp/all.yaml" "$tmp" "$chart/dashboards/chat.json"; then
  pass "PrometheusRule spec and dashboard ConfigMap extracted (sidecar label grafana_dashboard=1, folder annotation; data = dashboards/chat.json)"
else fail "PrometheusRule or dashboard ConfigMap missing from the render, or not as configured (exit $?)"; fi
cp "$tmp/chat-rules.yaml" "$tmp/rules/"
# Off by default: neither object without the values.
if "$HELM" template chat "$chart" -n chat 2>/dev/null | grep -qE '^kind: PrometheusRule|chat-dashboard$'; then fail "a PrometheusRule or dashboard renders by default"
else pass "off by default: no PrometheusRule, no dashboard ConfigMap"; fi

echo "== promtool: alerts"
if out=$(promtool check rules "$tmp/rules/chat-rules.yaml" 2>&1); then pass "promtool check rules: $(grep -oE '[0-9]+ rules found' <<<"$out")"
else fail "promtool check rules"; sed 's/^/    /' <<<"$out"; fi
cp "$chart/ci/alerts-test.yaml" "$tmp/rules/"
if out=$(promtool test rules "$tmp/rules/alerts-test.yaml" 2>&1); then pass "promtool test rules charts/chat/ci/alerts-test.yaml"
else fail "promtool test rules"; sed 's/^/    /' <<<"$out" | head -40; fi
# Every alert has a test where it fires and one where it does not; every runbook_url has its
# section in docs/operations.md.
if out=$(node -e '
  const { parse } = require("yaml");
  const fs = require("fs");
  const [rulesFile, testFile, doc] = process.argv.slice(1);
  const alerts = parse(fs.readFileSync(rulesFile, "utf8")).groups.flatMap((g) => g.rules).filter((r) => r.alert);
  const cases = parse(fs.readFileSync(testFile, "utf8")).tests.flatMap((t) => t.alert_rule_test ?? []);
  const anchors = new Set([...fs.readFileSync(doc, "utf8").matchAll(/^#+ (.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-")));
  let bad = 0;
  for (const a of alerts) {
    const mine = cases.filter((c) => c.alertname === a.alert);
    if (!mine.some((c) => c.exp_alerts?.length)) { bad++; console.log(`    ${a.alert}: no test where it fires`); }
    if (!mine.some((c) => !c.exp_alerts?.length)) { bad++; console.log(`    ${a.alert}: no test where it does not fire`); }
    const anchor = (a.annotations?.runbook_url ?? "").split("#")[1];
    if (!anchor || !anchors.has(anchor)) { bad++; console.log(`    ${a.alert}: runbook_url #${anchor} is no heading of docs/operations.md`); }
    if (!["critical", "warning"].includes(a.labels?.severity)) { bad++; console.log(`    ${a.alert}: severity ${a.labels?.severity}`); }
  }
  console.log(`    ${alerts.length} alerts: ${alerts.map((a) => a.alert).join(", ")}`);
  process.exit(bad ? 1 : 0);' "$tmp/rules/chat-rules.yaml" "$chart/ci/alerts-test.yaml" docs/operations.md 2>&1); then
  pass "every alert has a firing and a not-firing test, a severity, and a runbook section"; echo "$out"
else fail "alerts without tests or runbook"; echo "$out"; fi
# Mutants: a broken expression must fail the tests, naming the alert.
mutant() { # alert, description, sed expression on the rules
  local alert=$1 what=$2 expr=$3 out
  mkdir -p "$tmp/mutant"
  cp "$tmp/rules/alerts-test.yaml" "$tmp/mutant/"
  sed -E "$expr" "$tmp/rules/chat-rules.yaml" >"$tmp/mutant/chat-rules.yaml"
  if cmp -s "$tmp/rules/chat-rules.yaml" "$tmp/mutant/chat-rules.yaml"; then fail "mutant $alert ($what): the sed expression changed nothing"; return; fi
  if out=$(promtool test rules "$tmp/mutant/alerts-test.yaml" 2>&1); then fail "mutant not caught: $alert ($what)"
  elif grep -q "alertname: $alert," <<<"$out"; then pass "mutant caught: $alert ($what)"
  else fail "mutant $alert ($what): tests failed, but not on $alert"; sed 's/^/    /' <<<"$out" | head -10; fi
}
mutant ChatRedisUnreachable "the readiness branch dropped" '/or max by \(namespace, job, pod\) \(dependency_reachable/d'
mutant ChatServiceDown "== 0 became < 0" 's/(kube_deployment_status_replicas_available\{[^}]*\}) == 0/\1 < 0/'
mutant ChatHigh5xxRatio "the 5xx matcher dropped" 's/, status=~"5\.\."//'
mutant ChatPodRestarting "any pod of the namespace" 's/(kube_pod_container_status_restarts_total\{namespace="chat"), pod=~"[^"]*"/\1/'

echo "== promtool: dashboard queries parse"
if out=$(node scripts/ops/panels.mjs rules "$tmp/dashboard.json" "$tmp/rules/panels.yaml" 2>&1) && out2=$(promtool check rules "$tmp/rules/panels.yaml" 2>&1); then
  pass "every dashboard query parses (promtool check rules: $(grep -oE '[0-9]+ rules found' <<<"$out2"))"
else fail "dashboard queries"; sed 's/^/    /' <<<"$out ${out2:-}"; fi

echo "== live: Debian's Prometheus scraping a real backend (a local stand-in for the cluster's)"
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
app_port=$(free_port)
chat_port=$(free_port)
prom_port=$(free_port)
prom="http://127.0.0.1:$prom_port"
if ! psql -q "$db_url" -c "CREATE DATABASE $db_name" >/dev/null 2>"$tmp/err"; then fail "create database $db_name"; sed 's/^/    /' "$tmp/err"; fi
mkdir -p "$tmp/data"
PORT=$app_port HOST=127.0.0.1 DATA_DIR="$tmp/data" LOG_LEVEL=warn DATABASE_URL="${db_url%/*}/$db_name" REDIS_URL="$redis_url" REDIS_KEY_PREFIX="$redis_prefix" \
  MIGRATE_ON_START=true LOGIN_RATE_LIMIT_PER_USERNAME=3 SEND_RATE_LIMIT=20 node backend/dist/apps/all.main.js >"$tmp/app.log" 2>&1 &
pids+=($!)
# A second chat pod: the chat service alone on the same database and Redis (tokens checked with
# the all-in-one's JWKS), so fan-out crosses processes and per-pod panels have two pods.
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$app_port/health/ready" >/dev/null && break; sleep 0.5; done
PORT=$chat_port HOST=127.0.0.1 LOG_LEVEL=warn DATABASE_URL="${db_url%/*}/$db_name" REDIS_URL="$redis_url" REDIS_KEY_PREFIX="$redis_prefix" \
  AUTH_JWKS_URL="http://127.0.0.1:$app_port/api/auth/jwks.json" SEND_RATE_LIMIT=20 node backend/dist/apps/chat.main.js >"$tmp/chat.log" 2>&1 &
pids+=($!)
# A ServiceMonitor's target labels (Prometheus Operator): job = the Service's name, namespace,
# service, pod, container, endpoint = the port's name. The all-in-one stands for one chat pod,
# the chat-only process for another.
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 2s
  evaluation_interval: 2s
rule_files:
  - $tmp/rules/chat-rules.yaml
scrape_configs:
  - job_name: serviceMonitor/chat/chat-chat/0
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$app_port']
        labels: { __pod: chat-chat-0 }
      - targets: ['127.0.0.1:$chat_port']
        labels: { __pod: chat-chat-1 }
    relabel_configs:
      - { target_label: namespace, replacement: chat }
      - { target_label: service, replacement: chat-chat }
      - { target_label: job, replacement: chat-chat }
      - { source_labels: [__pod], target_label: pod }
      - { target_label: container, replacement: chat }
      - { target_label: endpoint, replacement: http }
YAML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
ready=""
for _ in $(seq 1 60); do
  if curl -sf "http://127.0.0.1:$app_port/health/ready" >/dev/null && curl -sf "http://127.0.0.1:$chat_port/health/ready" >/dev/null \
    && curl -sf "$prom/-/ready" >/dev/null; then ready=1; break; fi
  sleep 0.5
done
scraped() { [ "$(curl -sf "$prom/api/v1/query" --data-urlencode 'query=count(up{namespace="chat", job="chat-chat", pod=~"chat-chat-[01]"} == 1)' | grep -oE '"[0-9]+"\]' | tr -dc 0-9)" = 2 ]; }
for _ in $(seq 1 20); do scraped && break; sleep 0.5; done
if [ -n "$ready" ] && scraped; then pass "two backend processes (all-in-one, chat) ready and scraped by prometheus with the ServiceMonitor's labels"
else fail "backend or prometheus not ready"; tail -5 "$tmp/app.log" "$tmp/chat.log" "$tmp/prometheus.log" | sed 's/^/    /'; fi
# Two rounds of traffic, each followed by two scrapes, so every rate() sees an increase.
for round in 1 2; do
  if out=$(node scripts/ops/traffic.mjs "http://127.0.0.1:$app_port" "$round" "http://127.0.0.1:$chat_port" 2>&1); then pass "$out"; else fail "traffic round $round"; sed 's/^/    /' <<<"$out"; fi
  sleep 5
done
if node scripts/ops/panels.mjs live "$tmp/dashboard.json" "$prom" chat >"$tmp/panels.out" 2>&1; then pass "every dashboard panel query returns data ($(tail -1 "$tmp/panels.out"))"
else fail "dashboard panel queries without data"; fi
sed 's/^/    /' "$tmp/panels.out"
# The alert rules loaded into a real Prometheus evaluate without error; none fires on a healthy backend.
if node -e '
  (async () => {
    const body = await (await fetch(`${process.argv[1]}/api/v1/rules`)).json();
    const rules = body.data.groups.flatMap((g) => g.rules);
    const bad = rules.filter((r) => r.health !== "ok" || r.state === "firing");
    bad.forEach((r) => console.log(`    ${r.name}: health ${r.health} ${r.lastError ?? ""} state ${r.state}`));
    console.log(`    ${rules.length} alert rules loaded, ${rules.filter((r) => r.health === "ok").length} evaluated ok`);
    process.exit(rules.length && !bad.length ? 0 : 1);
  })();' "$prom" >"$tmp/rules.out" 2>&1; then pass "the rendered alert rules load into prometheus, evaluate without error, none firing on a healthy backend"
else fail "alert rules in prometheus"; fi
cat "$tmp/rules.out"
# A deliberately broken panel query (a misspelt metric) must fail the check.
node -e '
  const fs = require("fs");
  const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  d.panels[0].targets[0].expr = d.panels[0].targets[0].expr.replace("socketio_connections", "socketio_connection_count");
  fs.writeFileSync(process.argv[2], JSON.stringify(d));' "$tmp/dashboard.json" "$tmp/broken.json"
if node scripts/ops/panels.mjs live "$tmp/broken.json" "$prom" chat >"$tmp/broken.out" 2>&1; then fail "a broken panel query (socketio_connection_count) was not caught"
elif grep -q '^FAIL Socket.IO connections per pod / A: no data' "$tmp/broken.out"; then pass "a broken panel query is caught: $(grep -m1 '^FAIL' "$tmp/broken.out")"
else fail "broken panel query: failed, but not on that panel"; head -5 "$tmp/broken.out" | sed 's/^/    /'; fi

echo
echo "ops checks took $(($(date +%s) - start))s"
echo "ops: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
