#!/usr/bin/env node
// Rehearses a Helm release on podman, with no Kubernetes, behaving like a cluster wherever the
// chart relies on it (docs/rehearsal.md): cluster DNS and kubelet's resolv.conf, Service
// virtual IPs to ready endpoints, NetworkPolicies enforced, the pod spec as written, and
// Helm's order: pre-install hooks, every object, --wait, post-install hooks, `helm test`, then
// `helm upgrade` with the same values (pre-upgrade hooks such as the migration Job).
//
//   node scripts/rehearse/rehearse.mjs [--profile kind|minikube|cloud] [-f values.yaml] [--set k=v]
//        [--manifests rendered.yaml] [--stop-one chat] [--timeout seconds] [--no-network-policies]
//
// --stop-one <component>: while traffic flows through the gateway, delete one pod of that
// Deployment (endpoints first, then SIGTERM), let the Deployment replace it, check that no
// acknowledged message was lost, and run the tests again.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Cluster, dnsQuery, shortId } from './cluster.mjs';
import { endpoints, notActedOn, resolvePort, selects } from './kube.mjs';
import { render, root } from './render.mjs';
import { backupDrill, breakBackup } from './backup-drill.mjs';

const args = process.argv.slice(2);
const opts = { profile: 'kind', timeout: 180, policies: true };
const helmArgs = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--stop-one') opts.stopOne = args[++i];
  else if (a === '--profile') opts.profile = args[++i];
  else if (a === '--manifests') opts.manifests = args[++i];
  else if (a === '--timeout') opts.timeout = Number(args[++i]);
  else if (a === '--no-network-policies') opts.policies = false;
  else if (a === '--backup-drill') opts.backupDrill = true;
  else if (a === '--rolling-upgrade') opts.rollingUpgrade = args[++i];
  else if (a === '--backup-drill-break') opts.backupBreak = args[++i];
  else helmArgs.push(a);
}

const t0 = Date.now();
const timings = {};
const mark = (name) => (timings[name] = Number(((Date.now() - t0) / 1000).toFixed(1)));
const log = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- render ------------------------------------------------------------------------------
let rendered;
let domain = 'cluster.local';
if (opts.manifests) {
  rendered = readFileSync(opts.manifests, 'utf8');
  log(`manifests from ${opts.manifests}`);
} else {
  rendered = render({ profile: opts.profile, policies: opts.policies, extra: helmArgs, say: log });
  const d = /--set[= ]global\.clusterDomain=([^\s,]+)/.exec(helmArgs.join(' '));
  if (d) domain = d[1];
}
const objects = parseAllDocuments(rendered)
  .map((d) => d.toJS())
  .filter((o) => o && o.kind);
if (opts.backupBreak) {
  opts.backupDrill = true;
  breakBackup(objects, opts.backupBreak);
}
const hookOf = (o) =>
  (o.metadata?.annotations?.['helm.sh/hook'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const weight = (o) => Number(o.metadata?.annotations?.['helm.sh/hook-weight'] ?? 0);
const byHook = (h) => objects.filter((o) => hookOf(o).includes(h)).sort((a, b) => weight(a) - weight(b) || a.metadata.name.localeCompare(b.metadata.name));
log(`rendered ${objects.length} objects (profile ${opts.profile}, NetworkPolicies ${opts.policies ? 'on' : 'off'}, cluster domain ${domain})`);

// Everything the rehearsal does not act on is said, never skipped silently.
{
  const kinds = new Map();
  for (const o of objects) {
    // A CronJob's Job template is run only by --backup-drill; its schedule never.
    const rest = o.kind === 'CronJob' && !opts.backupDrill ? null : notActedOn(o);
    const k = kinds.get(o.kind) ?? new Set();
    if (rest === null) k.add('*');
    else rest.forEach((f) => k.add(f));
    kinds.set(o.kind, k);
  }
  for (const [kind, fields] of kinds) {
    if (fields.has('*'))
      log(
        `not acted on: every ${kind} (${objects
          .filter((o) => o.kind === kind)
          .map((o) => o.metadata.name)
          .join(', ')})`,
      );
    else if (fields.size) log(`not acted on in ${kind}: ${[...fields].sort().join(', ')}`);
  }
}

// ---- the cluster -------------------------------------------------------------------------
const nodeImage = objects
  .flatMap((o) => (o.spec?.template?.spec ?? o.spec)?.containers ?? [])
  .find((c) => /chat-(auth|users|chat|smoke)/.test(c.image ?? ''))?.image;
const cluster = new Cluster({ domain, work: mkdtempSync(join(tmpdir(), 'chat-rehearse-')), log, dnsImage: nodeImage });
const deadline = () => Date.now() + opts.timeout * 1000;
const workloads = []; // { owner, pods }

function podTemplate(owner) {
  const t = owner.spec.template;
  return { labels: { ...(t.metadata?.labels ?? {}) }, annotations: { ...(t.metadata?.annotations ?? {}) }, spec: t.spec };
}

/** A Deployment's desired replicas: spec.replicas, or an HPA's minReplicas when it owns the count. */
function replicasOf(d) {
  const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef?.name === d.metadata.name);
  if (d.spec.replicas === undefined && hpa) {
    log(
      `Deployment ${d.metadata.name}: no replicas field, HPA ${hpa.metadata.name} sets minReplicas=${hpa.spec.minReplicas ?? 1} (the HPA does not scale further here)`,
    );
    return hpa.spec.minReplicas ?? 1;
  }
  return d.spec.replicas ?? 1;
}

async function deploymentPod(d) {
  const t = podTemplate(d);
  const hash = (d.hash ??= shortId());
  return cluster.createPod({
    name: `${d.metadata.name}-${hash}-${shortId()}`,
    labels: { ...t.labels, 'pod-template-hash': hash },
    annotations: t.annotations,
    spec: t.spec,
  });
}

async function statefulSetPods(s) {
  const t = podTemplate(s);
  const pods = [];
  for (let i = 0; i < (s.spec.replicas ?? 1); i++) {
    const name = `${s.metadata.name}-${i}`;
    const claims = {};
    for (const tpl of s.spec.volumeClaimTemplates ?? []) {
      claims[tpl.metadata.name] = `${tpl.metadata.name}-${name}`;
      cluster.claims.add(`${cluster.ns}/${tpl.metadata.name}-${name}`);
    }
    const labels = { ...t.labels, 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(i) };
    const pod = await cluster.createPod({ name, labels, annotations: t.annotations, spec: t.spec, hostname: name, subdomain: s.spec.serviceName, claims });
    pods.push(pod);
    // OrderedReady (the default): the next pod is created once this one is Ready.
    if ((s.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady') await cluster.waitReady([pod], deadline());
  }
  return pods;
}

/** A Job: pods until one succeeds, backoffLimit failures, or the deadline. */
async function runJob(job) {
  const t = podTemplate(job);
  const limit = job.spec.backoffLimit ?? 6;
  const end = Math.min(deadline(), job.spec.activeDeadlineSeconds ? Date.now() + job.spec.activeDeadlineSeconds * 1000 : Infinity);
  for (let failures = 0; ; failures++) {
    const pod = await cluster.createPod({
      name: `${job.metadata.name}-${shortId()}`,
      labels: { ...t.labels, 'job-name': job.metadata.name },
      annotations: t.annotations,
      spec: t.spec,
    });
    const r = await cluster.runToCompletion(pod, end);
    await cluster.removePod(pod);
    if (r.code === 0) return r.logs;
    log(`Job ${job.metadata.name}: pod failed (exit ${r.code}):\n${indent(r.logs.trim().split('\n').slice(-15).join('\n'))}`);
    if (failures + 1 > limit || Date.now() > end) throw new Error(`Job ${job.metadata.name} failed (BackoffLimitExceeded or deadline)`);
    await sleep(Math.min(10_000 * 2 ** failures, Math.max(0, end - Date.now())));
  }
}

const indent = (s) => s.replace(/^/gm, '    ');

async function runHooks(phase) {
  for (const o of byHook(phase)) {
    if (o.kind === 'Job') {
      log(`hook ${phase}: Job ${o.metadata.name} (weight ${weight(o)})`);
      await runJob(o);
      log(`hook ${phase}: Job ${o.metadata.name} succeeded`);
    } else if (!cluster.apply(o) && o.kind !== 'Pod') log(`hook ${phase}: ${o.kind} ${o.metadata.name} created (not acted on)`);
  }
}

async function runTests(label) {
  const tests = byHook('test').filter((o) => o.kind === 'Pod');
  if (!tests.length) throw new Error('the chart renders no helm test pod');
  let failed = 0;
  for (const p of tests) {
    const pod = await cluster.createPod({ name: p.metadata.name, labels: p.metadata.labels, annotations: p.metadata.annotations, spec: p.spec });
    const r = await cluster.runToCompletion(pod, deadline());
    await cluster.removePod(pod);
    console.log(indent(r.logs.trim()));
    if (r.code === 0) log(`helm test ${p.metadata.name} (${label}): PASSED`);
    else {
      failed += 1;
      log(`helm test ${p.metadata.name} (${label}): FAILED (exit ${r.code})`);
      await diagnose();
    }
  }
  return failed;
}

/** Each pod's state, what its policies dropped, its events and last log lines. */
async function diagnose() {
  for (const p of cluster.pods.filter((x) => !x.system)) {
    const drops = Object.entries(await cluster.drops(p)).filter(([, n]) => n > 0);
    console.log(
      `  -- pod ${p.name}: ${p.failed ? 'Failed' : p.ready ? 'Ready' : 'not ready'}${drops.length ? `; ${drops.map(([k, n]) => `${k} dropped ${n} packets`).join(', ')}` : ''}`,
    );
    for (const e of p.events.slice(-2)) console.log(indent(indent(e)));
    for (const cs of p.containers.values()) {
      // Errors from further back, then the last lines.
      const lines = (await cluster.logs(p, cs, 300)).split('\n');
      const errors = lines
        .slice(0, -6)
        .filter((l) => /\b(error|emerg|crit|fatal)\b/i.test(l))
        .slice(-4);
      console.log(indent(indent([...errors, ...lines.slice(-6)].join('\n'))));
    }
  }
  for (const svc of cluster.services.filter((s) => s.spec.selector && s.ns === cluster.ns)) {
    const n = endpoints(svc, cluster.pods).length;
    if (!n) console.log(`  -- Service ${svc.name}: 0 endpoints (no ready pod matches ${JSON.stringify(svc.spec.selector)})`);
  }
}

async function install() {
  log('helm install: pre-install hooks');
  await runHooks('pre-install');
  const plain = objects.filter((o) => !hookOf(o).length);
  for (const o of plain) cluster.apply(o);
  log('helm install: every object at once (Deployments, StatefulSets, Jobs)');
  const pending = [];
  for (const o of plain) {
    if (o.kind === 'Deployment') {
      const n = replicasOf(o);
      workloads.push({ owner: o, pods: [] });
      for (let i = 0; i < n; i++) pending.push(deploymentPod(o).then((p) => workloads.find((w) => w.owner === o).pods.push(p)));
    } else if (o.kind === 'StatefulSet') pending.push(statefulSetPods(o).then((pods) => workloads.push({ owner: o, pods })));
    else if (o.kind === 'Job') pending.push(runJob(o));
    else if (o.kind === 'Pod') pending.push(cluster.createPod({ name: o.metadata.name, labels: o.metadata.labels, spec: o.spec }));
  }
  await Promise.all(pending);
  log('helm install --wait: every pod Ready');
  await cluster.waitReady(
    workloads.flatMap((w) => w.pods),
    deadline(),
  );
  mark('installed and ready');
  await runHooks('post-install');
  log(`running: ${cluster.pods.map((p) => `${p.name} (${p.ip})`).join(', ')}`);
}

/**
 * A pod that fails readiness leaves its Services (virtual IP and headless DNS) and comes back
 * when ready: one pod's containers are paused until kubelet's probe marks it not ready.
 */
async function readinessRound(w) {
  await cluster.waitReady(cluster.pods, deadline()); // from a steady state
  const pod = w.pods[0];
  const headless = cluster.services.find((s) => s.spec.clusterIP === 'None' && s.spec.selector && selects(s.spec.selector, pod.labels));
  const service = cluster.services.find((s) => s.spec.clusterIP !== 'None' && s.spec.selector && selects(s.spec.selector, pod.labels));
  const gateway = cluster.pods.find((p) => p.labels['app.kubernetes.io/component'] === 'frontend');
  const view = async () => {
    const rules = await cluster.rulesOf(gateway);
    return {
      dns: (await dnsQuery(cluster.dnsIp, `${headless.name}.${headless.ns}.svc.${domain}`)).ips.includes(pod.ip),
      vip: rules.includes(`${pod.ip} . `) || rules.includes(`dnat to ${pod.ip}:`),
    };
  };
  const before = await view();
  log(`readiness: pausing ${pod.name} (in ${headless.name} DNS: ${before.dns}, behind ${service.name}'s address in the gateway: ${before.vip})`);
  const t = Date.now();
  await cluster.pause(pod);
  // Endpoints reach DNS and every node's rules a moment after readiness changes, as on a
  // cluster (EndpointSlice controller, then kube-proxy): allow 5 s, and say how long it took.
  const settle = async (want) => {
    const t0 = Date.now();
    let v = await view();
    while ((v.dns !== want || v.vip !== want) && Date.now() - t0 < 5000) {
      await sleep(100);
      v = await view();
    }
    return { ...v, ms: Date.now() - t0 };
  };
  while (pod.ready && Date.now() - t < 60_000) await sleep(200);
  const out = await settle(false);
  log(`readiness: ${pod.name} not ready after ${Date.now() - t - out.ms} ms; in DNS: ${out.dns}, behind the Service address: ${out.vip} (${out.ms} ms later)`);
  await cluster.unpause(pod);
  const t2 = Date.now();
  await cluster.waitReady([pod], deadline());
  const back = await settle(true);
  log(
    `readiness: ${pod.name} Ready again after ${Date.now() - t2 - back.ms} ms; in DNS: ${back.dns}, behind the Service address: ${back.vip} (${back.ms} ms later)`,
  );
  const ok = before.dns && before.vip && !out.dns && !out.vip && back.dns && back.vip && pod.ready;
  log(`readiness round: ${ok ? 'PASSED' : 'FAILED'}`);
  return ok ? 0 : 1;
}

const componentOf = (owner) => owner.spec.template.metadata?.labels?.['app.kubernetes.io/component'];
const deploymentOf = (component) => workloads.find((x) => x.owner.kind === 'Deployment' && componentOf(x.owner) === component);

/** The first gateway pod's ip:port, where traffic.mjs sends from inside the cluster. */
function gatewayAddress() {
  const gwPod = workloads.find((x) => componentOf(x.owner) === 'frontend').pods[0];
  return `${gwPod.ip}:${resolvePort(gwPod.spec, gwPod.spec.containers[0].ports?.[0]?.name ?? 8080)}`;
}

/** scripts/rehearse/traffic.mjs through the gateway; `done()` waits for it, prints its report, and counts 1 if it failed. */
function startTraffic(address, ...args) {
  const traffic = spawn(process.execPath, [join(root, 'scripts/rehearse/traffic.mjs'), `http://${address}`, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  traffic.stdout.on('data', (d) => (out += d));
  const exited = new Promise((r) => traffic.on('exit', r));
  return {
    kill: (signal) => traffic.kill(signal),
    async done() {
      const code = await exited;
      console.log(indent(out.trim()));
      if (code === 0) return 0;
      log('traffic check FAILED');
      return 1;
    },
  };
}

async function stopOneRound(component) {
  const w = deploymentOf(component);
  if (!w || w.pods.length < 2) throw new Error(`--stop-one ${component}: needs a Deployment with 2 or more replicas`);
  const address = gatewayAddress();
  let failed = await readinessRound(w);
  const victim = w.pods[0];
  log(`traffic through the gateway pod (${address}) while pod ${victim.name} is deleted`);
  const traffic = startTraffic(address);
  await sleep(2000);
  await cluster.deletePod(victim);
  const codes = [...victim.containers.values()].map((c) => c.exitCode);
  log(`deleted ${victim.name} in ${victim.stoppedMs} ms (exit ${codes.join(',')}); the Deployment replaces it`);
  w.pods.splice(w.pods.indexOf(victim), 1);
  const replacement = await deploymentPod(w.owner);
  w.pods.push(replacement);
  failed += await traffic.done();
  await cluster.waitReady([replacement], deadline());
  log(`replacement ${replacement.name} Ready`);
  failed += await runTests('after-stop');
  mark('stop-one round done');
  return failed;
}

/** An integer or a percentage of replicas (rounded up for surge, down for unavailable, as Kubernetes does). */
const scaled = (v, n, up) => (typeof v === 'string' && v.endsWith('%') ? Math[up ? 'ceil' : 'floor']((n * parseFloat(v)) / 100) : Number(v));

/**
 * `kubectl rollout restart` of a Deployment during traffic: a new pod template hash, then the
 * Deployment controller's RollingUpdate steps (maxSurge new pods Ready, then old ones deleted
 * within maxUnavailable), while every send is retried until acknowledged.
 */
async function rollingUpgradeRound(component) {
  const w = deploymentOf(component);
  if (!w) throw new Error(`--rolling-upgrade ${component}: no such Deployment`);
  const n = w.pods.length;
  const ru = w.owner.spec.strategy?.rollingUpdate ?? {};
  const surge = scaled(ru.maxSurge ?? '25%', n, true);
  const unavailable = scaled(ru.maxUnavailable ?? '25%', n, false);
  if (surge + unavailable < 1) throw new Error(`${w.owner.metadata.name}: maxSurge and maxUnavailable are both 0`);
  const next = structuredClone(w.owner);
  delete next.hash;
  next.spec.template.metadata.annotations = {
    ...(next.spec.template.metadata.annotations ?? {}),
    'kubectl.kubernetes.io/restartedAt': new Date().toISOString(),
  };
  const address = gatewayAddress();
  log(`rolling upgrade of ${w.owner.metadata.name} (${n} pods, maxSurge ${surge}, maxUnavailable ${unavailable}) during traffic through ${address}`);
  const traffic = startTraffic(address, 'until-signal', '3');
  await sleep(2000);
  const t = Date.now();
  const old = [...w.pods];
  const fresh = [];
  while (old.length) {
    // Up to maxSurge pods above the desired count, and at least n - maxUnavailable Ready.
    const add = Math.max(0, Math.min(n - fresh.length, n + surge - (old.length + fresh.length)));
    const added = await Promise.all(Array.from({ length: add }, () => deploymentPod(next)));
    fresh.push(...added);
    w.pods.push(...added);
    await cluster.waitReady(added, deadline());
    const removable = Math.min(old.length, old.length + fresh.length - (n - unavailable));
    const going = old.splice(0, Math.max(removable, 0));
    if (!going.length && !add) throw new Error('rolling upgrade made no progress');
    for (const p of going) w.pods.splice(w.pods.indexOf(p), 1);
    await Promise.all(going.map((p) => cluster.deletePod(p)));
    log(`rolling upgrade: ${fresh.length} new pod(s) Ready, ${going.map((p) => p.name).join(', ') || 'none'} deleted, ${old.length} old left`);
  }
  w.owner = next;
  log(`rolling upgrade of ${next.metadata.name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  await sleep(2000);
  traffic.kill('SIGUSR2');
  let failed = await traffic.done();
  failed += await runTests('after-rolling-upgrade');
  mark('rolling upgrade done');
  return failed;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    await cluster.down();
    process.exit(130);
  });
}

let exitCode = 1;
try {
  log('cluster: network, kube-dns');
  await cluster.up();
  mark('cluster up');
  await install();
  let failed = await runTests('install');
  mark('tests done');
  log('helm upgrade (same values): pre-upgrade hooks, then post-upgrade; the pod templates are unchanged, so nothing rolls');
  await runHooks('pre-upgrade');
  await runHooks('post-upgrade');
  mark('upgrade hooks done');
  if (opts.stopOne) failed += await stopOneRound(opts.stopOne);
  if (opts.rollingUpgrade) failed += await rollingUpgradeRound(opts.rollingUpgrade);
  if (opts.backupDrill) {
    failed += await backupDrill({
      cluster,
      objects,
      workloads,
      runJob,
      runHooks,
      deploymentPod,
      replicasOf,
      statefulSetPods,
      deadline,
      log,
      root,
      brk: opts.backupBreak,
    });
    mark('backup drill done');
  }
  for (const p of [...cluster.pods]) if (!p.system) await cluster.removePod(p);
  for (const e of cluster.evictions ?? []) {
    log(`evicted: ${e}`);
    failed += 1;
  }
  exitCode = failed ? 1 : 0;
} catch (e) {
  console.log(`rehearsal error: ${e.message}`);
  await diagnose().catch(() => {});
} finally {
  await cluster.down();
}
console.log(`timings (s since start): ${JSON.stringify(timings)}`);
console.log(`rehearsal: ${exitCode ? 'FAIL' : 'PASS'}`);
process.exit(exitCode);
