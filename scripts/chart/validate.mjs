#!/usr/bin/env node
// Checks a `helm template` output: Kubernetes schemas (two API versions, unknown fields),
// CRDs, and the chart's own rules (security, probes, resources, labels, selectors, ports,
// environment against the backend's config schema, secrets).
// Every in-cluster address (env values, args, commands, ConfigMap data) must be the fully
// qualified <service>.<namespace>.svc.<cluster domain>.
//   node scripts/chart/validate.mjs <rendered.yaml> [--chat-replicas N] [--node-port P] [--label NAME]
//        [--cluster-domain D (default cluster.local)] [--openshift (no fixed runAsUser/runAsGroup/fsGroup)]
// Prints PASS/FAIL lines; exits 1 on any failure.
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';

const repo = process.env.CHAT_REPO ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const file = args[0];
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const label = opt('label') ?? file;
const openshift = args.includes('--openshift'); // ids assigned by the platform (adaptSecurityContext)
const clusterDomain = (opt('cluster-domain') ?? 'cluster.local').replace(/\.$/, '');
const docs = parseAllDocuments(readFileSync(file, 'utf8'))
  .map((d) => d.toJS())
  .filter((d) => d && d.kind);

const failures = [];
let checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) failures.push(what);
  return cond;
}
const id = (o) => `${o.kind}/${o.metadata?.name}`;
const fqdn = (name, namespace) => `${name}.${namespace}.svc.${clusterDomain}`;

// ---- 1. Kubernetes schemas: types and required fields, two API versions ------------------
const MODEL_SETS = [
  ['kubernetes-models (Kubernetes 1.33)', 'kubernetes-models'],
  ['kubernetes-models-k8s125 (Kubernetes 1.25)', 'kubernetes-models-k8s125'],
];
const CRDS = {
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1', // ServiceMonitor, PodMonitor
  'postgresql.cnpg.io/v1': '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1',
  'gateway.networking.k8s.io/v1': '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1',
};
// CRDs without a model package: the fields the operator cannot do without.
const CRD_RULES = {
  'barmancloud.cnpg.io/v1': {
    ObjectStore: (o) => (o.spec?.configuration?.destinationPath ? '' : 'spec.configuration.destinationPath is required'),
  },
};
const groupPath = (apiVersion) => apiVersion; // "v1", "apps/v1", "networking.k8s.io/v1"
async function model(pkg, apiVersion, kind) {
  const mod = await import(`${pkg}/${groupPath(apiVersion)}`);
  return mod[kind];
}
for (const [name, pkg] of MODEL_SETS) {
  let n = 0;
  for (const o of docs) {
    if (CRDS[o.apiVersion] || CRD_RULES[o.apiVersion]) continue;
    let Model;
    try {
      Model = await model(pkg, o.apiVersion, o.kind);
    } catch (e) {
      check(false, `${name}: ${id(o)}: no model for ${o.apiVersion} ${o.kind} (${e.message})`);
      continue;
    }
    if (!check(Model, `${name}: ${id(o)}: ${o.apiVersion} ${o.kind} does not exist in this version`)) continue;
    try {
      new Model(o).validate();
      n++;
    } catch (e) {
      check(false, `${name}: ${id(o)}: ${e.message}`);
    }
  }
  console.log(`schema ${name}: ${n} objects valid`);
}
let crdCount = 0;
for (const o of docs.filter((d) => CRDS[d.apiVersion])) {
  try {
    const Model = (await import(CRDS[o.apiVersion]))[o.kind];
    if (check(Model, `CRD ${id(o)}: unknown kind ${o.apiVersion} ${o.kind}`)) {
      new Model(o).validate();
      crdCount++;
    }
  } catch (e) {
    check(false, `CRD ${id(o)}: ${e.message}`);
  }
}
for (const o of docs.filter((d) => CRD_RULES[d.apiVersion])) {
  const rule = CRD_RULES[o.apiVersion][o.kind];
  if (check(rule, `CRD ${id(o)}: unknown kind ${o.apiVersion} ${o.kind}`)) {
    const problem = rule(o);
    if (check(!problem, `CRD ${id(o)}: ${problem}`)) crdCount++;
  }
}
if (crdCount) console.log(`schema CRDs (ServiceMonitor, CNPG Cluster, HTTPRoute models): ${crdCount} objects valid`);

// ---- 2. Unknown fields: walk @kubernetes/client-node's type maps ---------------------------
const k8s = await import('@kubernetes/client-node');
const PRIMITIVE = new Set(['string', 'number', 'boolean', 'Date', 'object', 'any', 'IntOrString', 'RuntimeRawExtension']);
function walk(value, type, path, out) {
  if (value === null || value === undefined) return;
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, arr[1], `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    for (const [k, v] of Object.entries(value)) walk(v, map[1], `${path}.${k}`, out);
    return;
  }
  if (PRIMITIVE.has(type)) return;
  const cls = k8s[type];
  if (!cls?.getAttributeTypeMap) return; // enums and the like
  const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  if (typeof value !== 'object') return out.push(`${path}: expected an object (${type})`);
  for (const [k, v] of Object.entries(value)) {
    if (!attrs.has(k)) out.push(`${path}.${k}: unknown field (${type})`);
    else walk(v, attrs.get(k), `${path}.${k}`, out);
  }
}
let walked = 0;
for (const o of docs.filter((d) => !CRDS[d.apiVersion] && !CRD_RULES[d.apiVersion])) {
  const version = o.apiVersion.split('/').pop();
  const type = `${version[0].toUpperCase()}${version.slice(1)}${o.kind}`;
  if (!check(k8s[type]?.getAttributeTypeMap, `unknown fields: no type ${type} in @kubernetes/client-node`)) continue;
  const out = [];
  walk(o, type, id(o), out);
  out.forEach((m) => check(false, `unknown fields: ${m}`));
  walked++;
}
console.log(`unknown fields (@kubernetes/client-node 1.4.0 type maps): ${walked} objects walked`);

// ---- 3. Workload rules -------------------------------------------------------------------
const STABLE = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component'];
const STANDARD = [...STABLE, 'app.kubernetes.io/part-of', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'helm.sh/chart'];
// A CronJob's Job template runs pods too (the backup): the same rules.
const workloads = docs.filter((d) => ['Deployment', 'StatefulSet', 'Job', 'CronJob', 'Pod'].includes(d.kind));
const podOf = (w) => (w.kind === 'Pod' ? { metadata: w.metadata, spec: w.spec } : w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template : w.spec.template);
const hpaTargets = new Set(docs.filter((d) => d.kind === 'HorizontalPodAutoscaler').map((h) => h.spec.scaleTargetRef.name));
const componentOf = (w) => podOf(w).metadata.labels?.['app.kubernetes.io/component'];

for (const o of docs) for (const l of STANDARD) check(o.metadata.labels?.[l], `${id(o)}: label ${l} missing`);

for (const w of workloads) {
  const pod = podOf(w);
  const spec = pod.spec;
  const where = id(w);
  const long = w.kind === 'Deployment' || w.kind === 'StatefulSet';
  for (const l of STANDARD) check(pod.metadata.labels?.[l], `${where}: pod label ${l} missing`);
  // Two dumps at once would race on one volume.
  if (w.kind === 'CronJob') check(w.spec.concurrencyPolicy === 'Forbid', `${where}: concurrencyPolicy must be Forbid`);
  if (!['Pod', 'Job', 'CronJob'].includes(w.kind)) {
    const sel = w.spec.selector.matchLabels;
    check(
      JSON.stringify(Object.keys(sel).sort()) === JSON.stringify([...STABLE].sort()),
      `${where}: selector must be exactly ${STABLE.join(', ')}; got ${Object.keys(sel)}`,
    );
    for (const [k, v] of Object.entries(sel)) check(pod.metadata.labels[k] === v, `${where}: selector ${k}=${v} does not match the pod labels`);
  }
  check(spec.automountServiceAccountToken === false, `${where}: automountServiceAccountToken must be false`);
  if (long) {
    // Its own ServiceAccount (one per component), whose token is never mounted either.
    const sa = docs.find((d) => d.kind === 'ServiceAccount' && d.metadata.name === spec.serviceAccountName);
    if (check(sa, `${where}: serviceAccountName ${spec.serviceAccountName} is no ServiceAccount of the release`))
      check(sa.automountServiceAccountToken === false, `${id(sa)}: automountServiceAccountToken must be false`);
  }
  const psc = spec.securityContext ?? {};
  check(psc.runAsNonRoot === true, `${where}: pod runAsNonRoot`);
  if (openshift)
    for (const [what, sc] of [
      ['pod', psc],
      ...[...(spec.initContainers ?? []), ...spec.containers].map((c) => [`container ${c.name}`, c.securityContext ?? {}]),
    ])
      for (const k of ['runAsUser', 'runAsGroup', 'fsGroup'])
        check(sc[k] === undefined, `${where} ${what}: ${k} must be left to OpenShift (adaptSecurityContext)`);
  else check(Number.isInteger(psc.runAsUser) && psc.runAsUser > 0, `${where}: pod runAsUser must be a non-zero number`);
  check(psc.seccompProfile?.type === 'RuntimeDefault', `${where}: pod seccompProfile RuntimeDefault`);
  const isChatImage = (c) => /(^|\/)chat-[a-z-]+[:@]/.test(c.image);
  const volumes = new Map(
    [...(spec.volumes ?? []), ...(w.spec.volumeClaimTemplates ?? []).map((t) => ({ name: t.metadata.name, pvc: true }))].map((v) => [v.name, v]),
  );
  const containers = [...(spec.initContainers ?? []), ...spec.containers];
  for (const c of containers) {
    const cw = `${where} container ${c.name}`;
    const sc = c.securityContext ?? {};
    check(sc.allowPrivilegeEscalation === false, `${cw}: allowPrivilegeEscalation false`);
    check(sc.readOnlyRootFilesystem === true, `${cw}: readOnlyRootFilesystem`);
    check(sc.runAsNonRoot === true, `${cw}: runAsNonRoot`);
    check(sc.capabilities?.drop?.includes('ALL'), `${cw}: capabilities drop ALL`);
    check(sc.seccompProfile?.type === 'RuntimeDefault', `${cw}: seccompProfile RuntimeDefault`);
    check(sc.privileged !== true, `${cw}: not privileged`);
    if (isChatImage(c) && !openshift) check((sc.runAsUser ?? psc.runAsUser) === 10001, `${cw}: chat images run as uid 10001`);
    check(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, `${cw}: requests cpu+memory and a memory limit`);
    const tmp = (c.volumeMounts ?? []).find((m) => m.mountPath === '/tmp');
    check(tmp && volumes.get(tmp.name)?.emptyDir, `${cw}: writable emptyDir at /tmp`);
    for (const m of c.volumeMounts ?? []) check(volumes.has(m.name), `${cw}: mount ${m.name} has no volume`);
  }
  if (long) {
    check(Number.isInteger(spec.terminationGracePeriodSeconds), `${where}: terminationGracePeriodSeconds set`);
    for (const c of spec.containers) {
      const cw = `${where} container ${c.name}`;
      for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) check(c[p], `${cw}: ${p} missing`);
      const comp = componentOf(w);
      if (['auth', 'users', 'chat'].includes(comp)) {
        check(c.livenessProbe?.httpGet?.path === '/health/live', `${cw}: liveness on /health/live`);
        check(c.readinessProbe?.httpGet?.path === '/health/ready', `${cw}: readiness on /health/ready`);
        check(c.startupProbe?.httpGet?.path === '/health/live', `${cw}: startup on /health/live`);
      }
      if (comp === 'frontend') check(c.readinessProbe?.httpGet?.path === '/healthz', `${cw}: gateway probes on /healthz`);
      for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const port = c[p]?.httpGet?.port;
        if (typeof port === 'string')
          check(
            (c.ports ?? []).some((cp) => cp.name === port),
            `${cw}: ${p} port ${port} is not a container port`,
          );
      }
      const grace = c.env?.find((e) => e.name === 'SHUTDOWN_GRACE_MS');
      if (isChatImage(c) && comp !== 'frontend') {
        if (check(grace, `${cw}: SHUTDOWN_GRACE_MS set`)) {
          const sleep = Number(c.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
          check(
            Number(grace.value) > 0 && Number(grace.value) + sleep * 1000 < spec.terminationGracePeriodSeconds * 1000,
            `${cw}: SHUTDOWN_GRACE_MS ${grace.value} + preStop ${sleep}s must fit in terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds}`,
          );
        }
      }
    }
    const many = (w.spec.replicas ?? 1) > 1 || hpaTargets.has(w.metadata.name);
    if (many) {
      const tsc = spec.topologySpreadConstraints ?? [];
      check(tsc.length > 0, `${where}: several pods need topologySpreadConstraints`);
      for (const t of tsc)
        for (const [k, v] of Object.entries(t.labelSelector?.matchLabels ?? {}))
          check(pod.metadata.labels[k] === v, `${where}: spread selector ${k} does not match the pods`);
    }
  }
  if (componentOf(w) === 'auth' && w.kind === 'Deployment')
    check(
      Object.keys(pod.metadata.annotations ?? {}).some((k) => k.startsWith('checksum/')),
      `${where}: checksum annotation so a new key rolls the pods`,
    );
  if (componentOf(w) === 'postgresql') {
    const c = spec.containers[0];
    if (!openshift) check(psc.runAsUser === 999 && psc.fsGroup === 999, `${where}: postgres runs as uid 999 with fsGroup 999`);
    for (const p of ['/var/run/postgresql', '/tmp']) {
      const m = c.volumeMounts.find((vm) => vm.mountPath === p);
      check(m && volumes.get(m.name)?.emptyDir, `${where}: emptyDir at ${p}`);
    }
    check(w.spec.volumeClaimTemplates?.length === 1, `${where}: a PVC for the data`);
    const keep = w.spec.persistentVolumeClaimRetentionPolicy ?? {};
    check(
      keep.whenDeleted === 'Retain' && keep.whenScaled === 'Retain',
      `${where}: the data PVC is retained on delete and scale-down (persistentVolumeClaimRetentionPolicy Retain)`,
    );
  }
}
console.log(`workload rules: ${workloads.length} pod specs`);

// ---- 4. Services select pods and reach container ports -----------------------------------
const podTemplates = workloads.filter((w) => !['Job', 'CronJob'].includes(w.kind) && !w.metadata.annotations?.['helm.sh/hook']).map(podOf);
for (const s of docs.filter((d) => d.kind === 'Service')) {
  const sel = s.spec.selector ?? {};
  check(
    Object.keys(sel).every((k) => STABLE.includes(k)),
    `${id(s)}: selector uses only stable labels`,
  );
  const pods = podTemplates.filter((p) => Object.entries(sel).every(([k, v]) => p.metadata.labels?.[k] === v));
  if (!check(pods.length > 0, `${id(s)}: selector matches no pod`)) continue;
  for (const port of s.spec.ports) {
    for (const p of pods) {
      const cports = p.spec.containers.flatMap((c) => c.ports ?? []);
      const ok =
        typeof port.targetPort === 'string'
          ? cports.some((cp) => cp.name === port.targetPort)
          : cports.some((cp) => cp.containerPort === (port.targetPort ?? port.port));
      check(ok, `${id(s)}: targetPort ${port.targetPort} is not a port of the selected pods`);
    }
  }
}
for (const o of docs.filter((d) => ['PodDisruptionBudget', 'NetworkPolicy'].includes(d.kind))) {
  const sel = o.kind === 'NetworkPolicy' ? o.spec.podSelector.matchLabels : o.spec.selector.matchLabels;
  const hooks = workloads.map(podOf);
  check(
    hooks.some((p) => Object.entries(sel).every(([k, v]) => p.metadata.labels?.[k] === v)),
    `${id(o)}: selects no pod`,
  );
}
for (const h of docs.filter((d) => d.kind === 'HorizontalPodAutoscaler'))
  check(
    docs.some((d) => d.kind === h.spec.scaleTargetRef.kind && d.metadata.name === h.spec.scaleTargetRef.name),
    `${id(h)}: target missing`,
  );
for (const sm of docs.filter((d) => d.kind === 'ServiceMonitor')) {
  const svcs = docs.filter((d) => d.kind === 'Service' && Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => d.metadata.labels?.[k] === v));
  check(svcs.length === 1, `${id(sm)}: must select exactly one Service (got ${svcs.length})`);
}

// ---- 5. Environment against each process's config schema ---------------------------------
const cfg = await import(pathToFileURL(join(repo, 'backend/dist/common/config/config.schema.js')).href);
const entry = readFileSync(join(repo, 'docker/nginx/entrypoint.sh'), 'utf8');
const gatewayKeys = [...(/envsubst '([^']+)'/.exec(entry)?.[1] ?? '').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]);
const smokeKeys = [...new Set([...readFileSync(join(repo, 'scripts/smoke/smoke.mjs'), 'utf8').matchAll(/process\.env\.(\w+)/g)].map((m) => m[1]))];
const roleOf = (image) => /(?:^|\/)chat-(auth|users|chat|migrate|frontend|smoke)[:@]/.exec(image)?.[1];
let envChecked = 0;
for (const w of workloads) {
  for (const c of [...(podOf(w).spec.initContainers ?? []), ...podOf(w).spec.containers]) {
    const role = roleOf(c.image);
    if (!role) continue;
    const cw = `${id(w)} container ${c.name} (${role})`;
    const env = c.env ?? [];
    const names = env.map((e) => e.name);
    check(new Set(names).size === names.length, `${cw}: duplicate environment variables`);
    // Inputs of $(VAR) expansion: allowed when an earlier variable is only there to be composed.
    const refs = new Set(env.flatMap((e) => [...(e.value ?? '').matchAll(/\$\((\w+)\)/g)].map((m) => m[1])));
    const accepted = role === 'frontend' ? gatewayKeys : role === 'smoke' ? smokeKeys : cfg.acceptedKeys(role);
    for (const e of env) {
      if (accepted.includes(e.name)) continue;
      check(refs.has(e.name), `${cw}: ${e.name} is not accepted by its config (${role}) nor used in a $(VAR) composition`);
    }
    for (const e of env)
      for (const r of (e.value ?? '').matchAll(/\$\((\w+)\)/g))
        check(names.indexOf(r[1]) >= 0 && names.indexOf(r[1]) < names.indexOf(e.name), `${cw}: ${e.name} uses $(${r[1]}) before it is defined`);
    if (role === 'frontend') {
      // nginx's workers: a number (never auto = one per node core), and memory sized from it.
      const workers = Number(env.find((e) => e.name === 'WORKER_PROCESSES')?.value);
      const mi = (q) => (/^[0-9]+Mi$/.test(q ?? '') ? Number(q.slice(0, -2)) : /^[0-9]+Gi$/.test(q ?? '') ? Number(q.slice(0, -2)) * 1024 : NaN);
      if (check(Number.isInteger(workers) && workers >= 1, `${cw}: WORKER_PROCESSES must be a positive number (${workers})`))
        check(
          mi(c.resources?.limits?.memory) >= 64 + 32 * workers,
          `${cw}: memory limit ${c.resources?.limits?.memory} is below 64Mi + 32Mi x ${workers} workers`,
        );
    }
    if (role === 'frontend' || role === 'smoke') {
      if (role === 'frontend') for (const k of ['AUTH_UPSTREAM', 'USERS_UPSTREAM', 'CHAT_UPSTREAM']) check(names.includes(k), `${cw}: ${k} missing`);
      if (role === 'smoke') check(names.includes('SMOKE_URL'), `${cw}: SMOKE_URL missing`);
      envChecked++;
      continue;
    }
    for (const req of cfg.requiredKeys(role))
      check(
        req.split('|').some((k) => names.includes(k)),
        `${cw}: required ${req} not set`,
      );
    // Parse the values as the process would, secrets replaced by stand-ins.
    const values = {};
    for (const e of env) values[e.name] = e.value ?? (e.valueFrom?.secretKeyRef ? 'secretvalue' : 'x');
    for (const [k, v] of Object.entries(values)) values[k] = v.replace(/\$\((\w+)\)/g, (_, n) => values[n] ?? '');
    const parsed = cfg.configSchemas[role].safeParse(values);
    check(
      parsed.success,
      `${cw}: config rejects the environment: ${parsed.success ? '' : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
    envChecked++;
  }
}
console.log(`environment vs backend/dist config schemas: ${envChecked} containers`);

// ---- 6. Secrets, hooks, exposure ----------------------------------------------------------
// A secret never reaches a process's argv (ps, /proc/<pid>/cmdline): no $(VAR) expansion of a
// Secret-backed variable in command/args, no password flag fed from a variable in a script.
for (const w of workloads)
  for (const c of [...(podOf(w).spec.initContainers ?? []), ...podOf(w).spec.containers]) {
    const secretVars = (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
    const argv = [...(c.command ?? []), ...(c.args ?? []), ...['livenessProbe', 'readinessProbe', 'startupProbe'].flatMap((p) => c[p]?.exec?.command ?? [])];
    for (const a of argv.map(String)) {
      for (const v of secretVars) check(!a.includes(`$(${v})`), `${id(w)} container ${c.name}: $(${v}) puts a secret into argv`);
      check(
        !/(--requirepass|--pass(word)?|\s-a)\s+["']?\$/.test(a),
        `${id(w)} container ${c.name}: a password flag takes a variable, so the secret is in argv (${a.slice(0, 80)})`,
      );
    }
  }

for (const cm of docs.filter((d) => d.kind === 'ConfigMap'))
  check(!/PRIVATE KEY|password/i.test(JSON.stringify(cm.data ?? {})), `${id(cm)}: secret material in a ConfigMap`);
for (const s of docs.filter((d) => d.kind === 'Secret')) {
  for (const [k, v] of Object.entries(s.data ?? {})) {
    const text = Buffer.from(v, 'base64').toString();
    if (/PRIVATE KEY/.test(text)) {
      try {
        const key = createPrivateKey(text);
        check(key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1', `${id(s)} ${k}: must be an EC P-256 key`);
      } catch (e) {
        check(false, `${id(s)} ${k}: node's createPrivateKey rejects it: ${e.message}`);
      }
    }
  }
}
// The CloudNativePG Cluster owns its PVCs: deleting it deletes the data, so it is kept.
for (const c of docs.filter((d) => d.kind === 'Cluster' && d.apiVersion.startsWith('postgresql.cnpg.io/'))) {
  check(c.metadata.annotations?.['helm.sh/resource-policy'] === 'keep', `${id(c)}: helm.sh/resource-policy: keep (its PVCs hold the data)`);
  // Deprecated by CloudNativePG: a PodMonitor of our own and the Barman Cloud plugin instead.
  check(c.spec.monitoring?.enablePodMonitor === undefined, `${id(c)}: spec.monitoring.enablePodMonitor is deprecated (render a PodMonitor)`);
  check(c.spec.backup?.barmanObjectStore === undefined, `${id(c)}: spec.backup.barmanObjectStore is deprecated (Barman Cloud plugin)`);
  for (const p of c.spec.plugins ?? [])
    if (p.parameters?.barmanObjectName)
      check(
        docs.some((d) => d.kind === 'ObjectStore' && d.metadata.name === p.parameters.barmanObjectName),
        `${id(c)}: plugin ${p.name} names ObjectStore ${p.parameters.barmanObjectName}, which is not rendered`,
      );
}
for (const pm of docs.filter((d) => d.kind === 'PodMonitor'))
  check(
    docs.some((d) => d.kind === 'Cluster' && pm.spec.selector.matchLabels?.['cnpg.io/cluster'] === d.metadata.name),
    `${id(pm)}: must select the instances of a rendered Cluster`,
  );
const migrate = docs.find((d) => d.kind === 'Job' && d.metadata.labels['app.kubernetes.io/component'] === 'migrate');
if (migrate) check(/pre-upgrade/.test(migrate.metadata.annotations?.['helm.sh/hook'] ?? ''), `${id(migrate)}: a pre-upgrade hook`);
const backends = workloads.filter((w) => w.kind === 'Deployment' && ['auth', 'users', 'chat'].includes(componentOf(w)));
check(
  backends.every((w) => podOf(w).spec.initContainers?.some((c) => roleOf(c.image) === 'migrate')) || migrate,
  'migrations: neither init containers nor a Job run them',
);
const test = docs.find((d) => d.kind === 'Pod' && d.metadata.annotations?.['helm.sh/hook'] === 'test');
// Logout in auth reaches users and chat only through Redis: every service needs it.
for (const d of docs.filter((x) => x.kind === 'Deployment' && ['auth', 'users', 'chat'].includes(componentOf(x)))) {
  check(
    d.spec.template.spec.containers[0].env.some((e) => e.name === 'REDIS_URL'),
    `${id(d)}: needs REDIS_URL (session revocations, fan-out and rate limits are shared through Redis)`,
  );
}
const chatReplicas = opt('chat-replicas');
if (test) {
  const env = Object.fromEntries(test.spec.containers[0].env.map((e) => [e.name, e.value]));
  const gw = docs.find((d) => d.kind === 'Service' && d.metadata.labels['app.kubernetes.io/component'] === 'frontend');
  check(
    gw && env.SMOKE_URL === `http://${fqdn(gw.metadata.name, gw.metadata.namespace)}:${gw.spec.ports[0].port}`,
    `${id(test)}: SMOKE_URL must point at the gateway Service (${env.SMOKE_URL})`,
  );
  const chat = docs.find((d) => d.kind === 'Deployment' && componentOf(d) === 'chat');
  const many = chat && ((chat.spec.replicas ?? 1) > 1 || hpaTargets.has(chat.metadata.name));
  if (many) {
    const hl = docs.find((d) => d.kind === 'Service' && d.spec.clusterIP === 'None' && fqdn(d.metadata.name, d.metadata.namespace) === env.SMOKE_CHAT_HEADLESS);
    check(
      hl && hl.spec.selector['app.kubernetes.io/component'] === 'chat',
      `${id(test)}: SMOKE_CHAT_HEADLESS must name the chat pods' headless Service (${env.SMOKE_CHAT_HEADLESS})`,
    );
  } else check(!env.SMOKE_CHAT_HEADLESS, `${id(test)}: one chat pod, no SMOKE_CHAT_HEADLESS`);
}
if (chatReplicas) {
  const chat = docs.find((d) => d.kind === 'Deployment' && componentOf(d) === 'chat');
  check(chat?.spec.replicas === Number(chatReplicas), `chat Deployment: expected ${chatReplicas} replicas`);
}
const nodePort = opt('node-port');
if (nodePort) {
  const gw = docs.find((d) => d.kind === 'Service' && d.metadata.labels['app.kubernetes.io/component'] === 'frontend');
  check(gw?.spec.type === 'NodePort' && gw.spec.ports[0].nodePort === Number(nodePort), `gateway Service: expected NodePort ${nodePort}`);
}
for (const i of docs.filter((d) => d.kind === 'Ingress' || d.kind === 'HTTPRoute')) {
  const names =
    i.kind === 'Ingress'
      ? i.spec.rules.flatMap((r) => r.http.paths.map((p) => p.backend.service.name))
      : i.spec.rules.flatMap((r) => r.backendRefs.map((b) => b.name));
  for (const n of names)
    check(
      docs.some((d) => d.kind === 'Service' && d.metadata.name === n && d.metadata.labels['app.kubernetes.io/component'] === 'frontend'),
      `${id(i)}: must route to the gateway Service only (${n})`,
    );
}

// ---- 7. In-cluster addresses are fully qualified -----------------------------------------
// The gateway's nginx resolves its upstreams with its own resolver (no search list), and
// cluster DNS answers only <svc>.<ns>.svc.<domain>: any shorter form fails on a real cluster.
// The release's Services: the rendered ones, and the ones CloudNativePG makes for a Cluster.
const services = new Map();
for (const d of docs) {
  const ns = d.metadata.namespace;
  if (d.kind === 'Service') services.set(d.metadata.name, ns);
  if (d.kind === 'Cluster' && d.apiVersion.startsWith('postgresql.cnpg.io/'))
    for (const suffix of ['-rw', '-ro', '-r']) services.set(`${d.metadata.name}${suffix}`, ns);
}
// Where addresses are: env values, args and commands (probes and hooks included) of every
// container, and ConfigMap data. [where, text, bare]: with bare, a lone Service name counts as
// an address too; env values are bare only under an address-like name (JWT_ISSUER=chat-auth
// is a claim, REDIS_HOST=chat-redis is a host).
const ADDRESS_ENV = /HOST|ADDR|UPSTREAM|HEADLESS|SERVER|SERVICE|URL|URI|ENDPOINT|DSN/;
const addressTexts = [];
for (const d of docs) {
  const spec = d.kind === 'Pod' ? d.spec : (d.spec?.jobTemplate?.spec?.template ?? d.spec?.template)?.spec;
  for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    const cw = `${id(d)} container ${c.name}`;
    for (const e of c.env ?? []) if (typeof e.value === 'string') addressTexts.push([`${cw} env ${e.name}`, e.value, ADDRESS_ENV.test(e.name)]);
    for (const key of ['command', 'args']) (c[key] ?? []).forEach((a, i) => addressTexts.push([`${cw} ${key}[${i}]`, String(a), true]));
    for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe'])
      (c[p]?.exec?.command ?? []).forEach((a, i) => addressTexts.push([`${cw} ${p}[${i}]`, String(a), true]));
    for (const h of ['preStop', 'postStart'])
      (c.lifecycle?.[h]?.exec?.command ?? []).forEach((a, i) => addressTexts.push([`${cw} ${h}[${i}]`, String(a), true]));
  }
  if (d.kind === 'ConfigMap') for (const [k, v] of Object.entries(d.data ?? {})) addressTexts.push([`${id(d)} data ${k}`, String(v), true]);
}
const escape = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// A host is a run of DNS labels not glued to another label: in URLs, host:port, or alone.
// Groups: what precedes it ("//" or "@" in a URL), the domain labels after the name, ":<port>".
const hostAt = (name) => new RegExp(`(//|@)?(?<![A-Za-z0-9.-])${escape(name)}((?:\\.[A-Za-z0-9-]+)*)(?![A-Za-z0-9-])(:[0-9])?`, 'g');
const namespaces = new Set(services.values());
const matchers = [...services].map(([name, ns]) => [name, ns, hostAt(name)]);
let addresses = 0;
for (const [where, text, bare] of addressTexts) {
  for (const [name, ns, re] of matchers)
    for (const m of text.matchAll(re)) {
      if (!(m[1] || m[2] || m[3] || bare)) continue; // a word that happens to be a Service name
      addresses++;
      const host = `${name}${m[2]}`;
      check(host === fqdn(name, ns), `${where}: in-cluster address ${host} must be ${fqdn(name, ns)} (${text.length > 120 ? `${text.slice(0, 120)}…` : text})`);
    }
  // A Service name in the release's namespace that is no Service of the release (a typo, or
  // one never rendered). Other namespaces may hold what the user points at (an external store).
  for (const m of text.matchAll(/(?<![A-Za-z0-9.-])([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9-]+)\.svc(?![A-Za-z0-9-])/g))
    if (namespaces.has(m[2])) check(services.has(m[1]), `${where}: ${m[0]} names no Service of the release`);
}
if (services.size && workloads.length) check(addresses > 0, 'in-cluster addresses: none found (the check matched nothing)');
console.log(`in-cluster addresses: ${addresses} found for ${services.size} Services, expected <svc>.<ns>.svc.${clusterDomain}`);

for (const f of failures) console.log(`FAIL ${label}: ${f}`);
console.log(`${failures.length ? 'FAIL' : 'PASS'} ${label}: ${docs.length} objects, ${checks} checks, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
