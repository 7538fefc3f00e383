#!/usr/bin/env node
// Rehearses a Helm release on podman, with no Kubernetes: renders the chart with
// `helm template`, then runs what it renders as containers on one podman network:
// StatefulSets first, then every Job (the migration hook), then each Deployment's replicas,
// each pod reachable under its Services' names (network aliases, or a port-forwarding
// container where a Service maps one port to another), with env, config, secrets, volumes,
// users and read-only root filesystems exactly as rendered. Then it runs the `helm test`
// pods and reports pass or fail. It cleans up after itself.
//
//   node scripts/rehearse/rehearse.mjs [-f values.yaml ...] [--set k=v ...] [--stop-one chat]
//
// --stop-one <component>: while traffic flows through the gateway, stop one replica of that
// Deployment (SIGTERM, like a rolling update or scale-down), then check that no acknowledged
// message was lost and run the tests again.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const valueArgs = [];
let stopOne;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--stop-one') stopOne = args[++i];
  else valueArgs.push(args[i]);
}
if (!valueArgs.includes('-f')) valueArgs.unshift('-f', join(root, 'helm-values/kind.yaml'));

const run = `rh${process.pid}`;
const net = `chat-${run}`;
const work = mkdtempSync(join(tmpdir(), 'chat-rehearse-'));
const containers = [];
const volumes = [];
const timings = {};
const t0 = Date.now();
const mark = (name) => (timings[name] = ((Date.now() - t0) / 1000).toFixed(1));
const log = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

function podman(...a) {
  const r = spawnSync('podman', a, { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`podman ${a.slice(0, 3).join(' ')} …: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}
const podmanOk = (...a) => spawnSync('podman', a, { encoding: 'utf8' }).status === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- render ------------------------------------------------------------------------------
const helm =
  process.env.HELM ??
  execFileSync('bash', [join(root, 'scripts/chart/install-helm.sh')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop();
const rendered = execFileSync(helm, ['template', 'chat', join(root, 'charts/chat'), ...valueArgs], { encoding: 'utf8', maxBuffer: 64 << 20 });
const objects = parseAllDocuments(rendered)
  .map((d) => d.toJS())
  .filter((o) => o && o.kind);
const byKind = (k) => objects.filter((o) => o.kind === k);
const hook = (o) => o.metadata?.annotations?.['helm.sh/hook'] ?? '';
const secrets = new Map(
  byKind('Secret').map((s) => [
    s.metadata.name,
    { ...Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])), ...(s.stringData ?? {}) },
  ]),
);
const configMaps = new Map(byKind('ConfigMap').map((c) => [c.metadata.name, { ...(c.data ?? {}) }]));
const services = byKind('Service');
log(`rendered ${objects.length} objects: ${[...new Set(objects.map((o) => o.kind))].join(', ')}`);

// ---- pod spec → podman run ----------------------------------------------------------------
const matches = (selector, labels) => selector && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function envOf(container) {
  const env = {};
  const expand = (v) => String(v).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => (name in env ? env[name] : m));
  for (const from of container.envFrom ?? []) {
    const src = from.secretRef ? secrets.get(from.secretRef.name) : configMaps.get(from.configMapRef?.name);
    if (!src && !(from.secretRef ?? from.configMapRef)?.optional) throw new Error(`envFrom: missing ${JSON.stringify(from)}`);
    for (const [k, v] of Object.entries(src ?? {})) env[(from.prefix ?? '') + k] = v;
  }
  for (const e of container.env ?? []) {
    if ('value' in e) env[e.name] = expand(e.value ?? '');
    else if (e.valueFrom?.secretKeyRef) {
      const { name, key, optional } = e.valueFrom.secretKeyRef;
      const v = secrets.get(name)?.[key];
      if (v === undefined && !optional) throw new Error(`${container.name}: secret ${name}/${key} not rendered`);
      if (v !== undefined) env[e.name] = v;
    } else if (e.valueFrom?.configMapKeyRef) {
      const { name, key, optional } = e.valueFrom.configMapKeyRef;
      const v = configMaps.get(name)?.[key];
      if (v === undefined && !optional) throw new Error(`${container.name}: configmap ${name}/${key} not rendered`);
      if (v !== undefined) env[e.name] = v;
    } else if (e.valueFrom?.fieldRef) {
      const path = e.valueFrom.fieldRef.fieldPath;
      env[e.name] = path === 'metadata.namespace' ? 'default' : path === 'metadata.name' ? '__POD_NAME__' : '';
    }
  }
  return { env, expand };
}

function volumeArgs(podSpec, container, podName, pod) {
  const out = [];
  for (const m of container.volumeMounts ?? []) {
    const v = (podSpec.volumes ?? []).find((x) => x.name === m.name) ?? { name: m.name, pvc: true };
    if (v.emptyDir) {
      // podman's tmpfs takes no owner: world-writable with the sticky bit, like /tmp.
      const opts = ['rw', 'mode=1777', 'notmpcopyup'];
      if (v.emptyDir.sizeLimit) opts.push(`size=${String(v.emptyDir.sizeLimit).replace(/i$/, '').toLowerCase()}`);
      out.push('--tmpfs', `${m.mountPath}:${opts.join(',')}`);
    } else if (v.secret || v.configMap) {
      const data = v.secret ? secrets.get(v.secret.secretName) : configMaps.get(v.configMap.name);
      if (!data) throw new Error(`${container.name}: volume ${m.name} refers to a missing ${v.secret ? 'secret' : 'configmap'}`);
      const dir = join(work, 'files', podName, m.name);
      mkdirSync(dir, { recursive: true });
      const items = (v.secret ?? v.configMap).items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const it of items) {
        mkdirSync(dirname(join(dir, it.path)), { recursive: true });
        writeFileSync(join(dir, it.path), data[it.key] ?? '', { mode: 0o444 });
      }
      const target = m.subPath ? join(dir, m.subPath) : dir;
      out.push('-v', `${target}:${m.mountPath}:ro`);
    } else {
      // A PersistentVolumeClaim (or a StatefulSet volumeClaimTemplate): a podman volume, owned
      // by the container's user like an fsGroup-managed volume.
      const name = `${net}-${pod}-${m.name}`;
      if (!volumes.includes(name)) {
        podman('volume', 'create', name);
        volumes.push(name);
      }
      out.push('-v', `${name}:${m.mountPath}:U`);
    }
  }
  return out;
}

function runArgs(podSpec, container, name, aliases, { detach, pod }) {
  const { env, expand } = envOf(container);
  const a = ['run', '--name', name, '--network', net, '--no-healthcheck', '--pull=never', ...dnsArgs, ...hostArgs()];
  if (ipOf.has(pod)) a.push('--ip', ipOf.get(pod));
  if (detach) a.push('-d');
  for (const al of aliases) a.push('--network-alias', al);
  const sc = { ...(podSpec.securityContext ?? {}), ...(container.securityContext ?? {}) };
  if (sc.runAsUser !== undefined) a.push('--user', `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`);
  // Like Kubernetes: a read-only root with no implicit tmpfs; writable paths are the volumes.
  if (sc.readOnlyRootFilesystem) a.push('--read-only', '--read-only-tmpfs=false');
  if (sc.allowPrivilegeEscalation === false) a.push('--security-opt', 'no-new-privileges');
  for (const cap of sc.capabilities?.drop ?? []) a.push('--cap-drop', cap);
  for (const cap of sc.capabilities?.add ?? []) a.push('--cap-add', cap);
  if (container.resources?.limits?.memory) a.push('--memory', String(container.resources.limits.memory).replace(/i$/, '').toLowerCase());
  for (const [k, v] of Object.entries(env)) a.push('-e', `${k}=${v === '__POD_NAME__' ? pod : v}`);
  a.push(...volumeArgs(podSpec, container, name, pod));
  if (container.workingDir) a.push('-w', container.workingDir);
  if (container.command) a.push('--entrypoint', JSON.stringify(container.command.map(expand)));
  a.push(container.image, ...(container.args ?? []).map(expand));
  return a;
}

function containerPort(podSpec, port) {
  if (typeof port === 'number') return port;
  for (const c of podSpec.containers) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  throw new Error(`no container port named ${port}`);
}

/** Names a pod answers to: every Service that selects it, where the ports line up. */
function aliasesFor(labels, podSpec, pod, forwards, sts) {
  const names = [pod];
  if (sts?.spec?.serviceName) names.push(`${pod}.${sts.spec.serviceName}`, `${pod}.${sts.spec.serviceName}.default.svc.cluster.local`);
  for (const svc of services) {
    if (!matches(svc.spec?.selector, labels)) continue;
    const same = (svc.spec.ports ?? []).every((p) => p.port === containerPort(podSpec, p.targetPort ?? p.port));
    if (same) names.push(svc.metadata.name, `${svc.metadata.name}.default.svc`, `${svc.metadata.name}.default.svc.cluster.local`);
    else forwards.add(svc.metadata.name);
  }
  return names;
}

// ---- probes --------------------------------------------------------------------------------
function probeOnce(name, probe, podSpec) {
  if (probe.exec) return podmanOk('exec', name, ...probe.exec.command);
  if (probe.httpGet) {
    const url = `http://127.0.0.1:${containerPort(podSpec, probe.httpGet.port)}${probe.httpGet.path ?? '/'}`;
    return (
      podmanOk('exec', name, 'node', '-e', `fetch(${JSON.stringify(url)}).then(r=>process.exit(r.status<400?0:1),()=>process.exit(1))`) ||
      podmanOk('exec', name, 'curl', '-fsS', '-o', '/dev/null', url)
    );
  }
  if (probe.tcpSocket) return podmanOk('exec', name, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${containerPort(podSpec, probe.tcpSocket.port)}`);
  return true;
}

async function ready(name, container, podSpec, timeoutMs = 120_000) {
  const probe = container.readinessProbe ?? container.startupProbe;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = podman('inspect', '--format', '{{.State.Status}}', name);
    if (state !== 'running') throw new Error(`${name} is ${state}:\n${podman('logs', '--tail', '30', name)}`);
    if (!probe || probeOnce(name, probe, podSpec)) return;
    if (Date.now() > deadline) throw new Error(`${name} never became ready:\n${podman('logs', '--tail', '30', name)}`);
    await sleep(500);
  }
}

// ---- the rehearsal -------------------------------------------------------------------------
const started = []; // { name, component, container }
async function startPod(owner, podSpec, labels, index, forwards) {
  const pod = `${owner.metadata.name}-${index}`;
  const name = `${net}-${pod}`;
  for (const init of podSpec.initContainers ?? []) {
    const r = spawnSync('podman', runArgs(podSpec, init, `${name}-init-${init.name}`, [], { detach: false, pod }), { encoding: 'utf8', timeout: 180_000 });
    podmanOk('rm', '-f', `${name}-init-${init.name}`);
    if (r.status !== 0) throw new Error(`${pod}: init container ${init.name} failed:\n${(r.stdout + r.stderr).slice(-2000)}`);
  }
  const aliases = aliasesFor(labels, podSpec, pod, forwards, owner.kind === 'StatefulSet' ? owner : undefined);
  const main = podSpec.containers[0];
  if (podSpec.containers.length > 1) log(`${pod}: ${podSpec.containers.length} containers; rehearsing the first (${main.name})`);
  podman(...runArgs(podSpec, main, name, aliases, { detach: true, pod }));
  containers.push(name);
  started.push({
    name,
    component: labels?.['app.kubernetes.io/component'] ?? owner.metadata.name,
    container: main,
    owner: owner.metadata.name,
    podSpec,
    labels,
  });
  return name;
}

async function startWorkloads(kind, forwards) {
  const pending = [];
  for (const w of byKind(kind)) {
    const replicas = w.spec.replicas ?? 1;
    for (let i = 0; i < replicas; i++) pending.push(startPod(w, w.spec.template.spec, w.spec.template.metadata?.labels, i, forwards));
  }
  const names = await Promise.all(pending);
  await Promise.all(
    names.map((n) => {
      const s = started.find((x) => x.name === n);
      return ready(n, s.container, s.podSpec);
    }),
  );
  return names;
}

/** A Service whose port differs from its pods' port gets a forwarding container under its name. */
function startForwarders(names, image) {
  for (const svcName of names) {
    const svc = services.find((s) => s.metadata.name === svcName);
    const pods = started.filter((s) => matches(svc.spec.selector, s.labels));
    const spec = pods[0]?.podSpec;
    if (!pods.length) throw new Error(`service ${svcName} selects no rehearsed pod`);
    const maps = svc.spec.ports.map((p) => `${p.port}=${pods.map((x) => `${x.name}:${containerPort(spec, p.targetPort ?? p.port)}`).join(',')}`);
    const name = `${net}-svc-${svcName}`;
    podman(
      'run',
      '-d',
      '--name',
      name,
      '--network',
      net,
      ...dnsArgs,
      ...hostArgs(),
      '--network-alias',
      svcName,
      '--network-alias',
      `${svcName}.default.svc.cluster.local`,
      '--pull=never',
      '--user',
      '10001:10001',
      '--read-only',
      '-v',
      `${join(root, 'scripts/rehearse/service-proxy.mjs')}:/proxy.mjs:ro`,
      '--entrypoint',
      '["node","/proxy.mjs"]',
      image,
      ...maps,
    );
    containers.push(name);
  }
}

/** One request per route through the gateway, so nginx has resolved its upstreams. */
async function warmGateway() {
  const gw = started.find((x) => x.component === 'frontend');
  if (!gw) return;
  const pod = gw.name.replace(`${net}-`, '');
  const port = gw.podSpec.containers[0].ports?.[0]?.containerPort ?? 8080;
  for (const path of ['/api/auth/jwks.json', '/api/users/me', '/api/chat/rooms']) {
    for (let i = 0; i < 20; i++) {
      const status = await fetch(`http://${ipOf.get(pod)}:${port}${path}`).then(
        (r) => r.status,
        () => 0,
      );
      if (status && status !== 502 && status !== 504) break;
      await sleep(500);
    }
  }
}

async function runTests(label) {
  const tests = byKind('Pod').filter((p) => hook(p).includes('test'));
  let failed = 0;
  for (const p of tests) {
    const name = `${net}-${p.metadata.name}-${label}`;
    const r = spawnSync('podman', runArgs(p.spec, p.spec.containers[0], name, [], { detach: false, pod: p.metadata.name }), { encoding: 'utf8' });
    podmanOk('rm', '-f', name);
    process.stdout.write(
      (r.stdout + r.stderr)
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n') + '\n',
    );
    if (r.status === 0) log(`helm test ${p.metadata.name} (${label}): PASSED`);
    else {
      failed += 1;
      log(`helm test ${p.metadata.name} (${label}): FAILED (exit ${r.status}); the pods' last log lines:`);
      for (const s of started) {
        const logs = spawnSync('podman', ['logs', '--tail', '8', s.name], { encoding: 'utf8' });
        console.log(`  -- ${s.name.replace(`${net}-`, '')}\n${(logs.stdout + logs.stderr).trim().replace(/^/gm, '     ')}`);
      }
    }
  }
  if (!tests.length) throw new Error('the chart renders no helm test pod');
  return failed;
}

function cleanup() {
  for (const c of containers.reverse()) spawnSync('podman', ['rm', '-f', '-t', '2', c]);
  spawnSync('podman', ['network', 'rm', '-f', net]);
  for (const v of volumes) spawnSync('podman', ['volume', 'rm', '-f', v]);
  rmSync(work, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    cleanup();
    process.exit(130);
  });
}

// Only the network's own DNS (aardvark), asked again after a second: it drops queries while it
// reloads for a container that just joined, and the host's resolver (which podman adds as a
// fallback) knows none of the Service names.
let dnsArgs = [];

// podman 4.3's aardvark-dns stops answering for seconds at a time while containers join, so
// every pod gets a fixed address and every name (pods, Services, headless Services) is also in
// its /etc/hosts, as cluster DNS would answer. (nginx resolves through DNS; it is warmed up.)
const subnet = `10.250.${process.pid % 250}`;
const ipOf = new Map();
const hosts = [];
let nextIp = 10;
function plan(pod, labels, podSpec, sts) {
  const ip = `${subnet}.${nextIp++}`;
  ipOf.set(pod, ip);
  for (const name of aliasesFor(labels, podSpec, pod, new Set(), sts)) hosts.push([name, ip]);
}
const hostArgs = () => hosts.flatMap(([name, ip]) => ['--add-host', `${name}:${ip}`]);

let exitCode = 1;
try {
  podman('network', 'create', '--subnet', `${subnet}.0/24`, net);
  const gatewayIp = podman('network', 'inspect', net, '--format', '{{range .Subnets}}{{.Gateway}}{{end}}');
  dnsArgs = ['--dns', gatewayIp, '--dns-option', 'timeout:1', '--dns-option', 'attempts:5'];
  for (const kind of ['StatefulSet', 'Deployment']) {
    for (const w of byKind(kind)) {
      for (let i = 0; i < (w.spec.replicas ?? 1); i++)
        plan(`${w.metadata.name}-${i}`, w.spec.template.metadata?.labels, w.spec.template.spec, kind === 'StatefulSet' ? w : undefined);
    }
  }
  const forwards = new Set();
  log('StatefulSets');
  await startWorkloads('StatefulSet', forwards);
  mark('statefulsets ready');
  for (const job of byKind('Job').sort(
    (a, b) => Number(a.metadata.annotations?.['helm.sh/hook-weight'] ?? 0) - Number(b.metadata.annotations?.['helm.sh/hook-weight'] ?? 0),
  )) {
    log(`Job ${job.metadata.name} (${hook(job) || 'no hook'})`);
    const spec = job.spec.template.spec;
    const name = `${net}-${job.metadata.name}`;
    const r = spawnSync('podman', runArgs(spec, spec.containers[0], name, [], { detach: false, pod: job.metadata.name }), { encoding: 'utf8' });
    podmanOk('rm', '-f', name);
    if (r.status !== 0) throw new Error(`Job ${job.metadata.name} failed:\n${(r.stdout + r.stderr).slice(-2000)}`);
  }
  mark('jobs done');
  log('Deployments');
  await startWorkloads('Deployment', forwards);
  const nodeImage = started.find((s) => /chat-(auth|users|chat)/.test(s.container.image))?.container.image;
  startForwarders(forwards, nodeImage);
  mark('deployments ready');
  log(`running: ${started.map((s) => s.name.replace(`${net}-`, '')).join(', ')}${forwards.size ? `; service proxies: ${[...forwards].join(', ')}` : ''}`);
  await warmGateway();
  let failed = await runTests('round-1');
  mark('tests done');
  if (stopOne) {
    const victims = started.filter((s) => s.component === stopOne);
    if (victims.length < 2) throw new Error(`--stop-one ${stopOne}: needs 2 or more replicas, found ${victims.length}`);
    const gateway = services.find((s) => s.spec?.selector?.['app.kubernetes.io/component'] === 'frontend');
    const gatewayPod = started.find((s) => s.component === 'frontend');
    const ip = podman('inspect', '--format', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, gatewayPod.name);
    const port = containerPort(gatewayPod.podSpec, gateway.spec.ports[0].targetPort ?? gateway.spec.ports[0].port);
    log(`traffic through the gateway (${ip}:${port}) while ${victims[0].name.replace(`${net}-`, '')} is stopped (SIGTERM)`);
    const traffic = spawn(process.execPath, [join(root, 'scripts/rehearse/traffic.mjs'), `http://${ip}:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    traffic.stdout.on('data', (d) => (out += d));
    await sleep(2000);
    const t = Date.now();
    podman('stop', '-t', '30', victims[0].name);
    log(
      `stopped ${victims[0].name.replace(`${net}-`, '')} in ${Date.now() - t} ms (exit ${podman('inspect', '--format', '{{.State.ExitCode}}', victims[0].name)})`,
    );
    const code = await new Promise((r) => traffic.on('exit', r));
    process.stdout.write(
      out
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n') + '\n',
    );
    if (code !== 0) {
      failed += 1;
      log('traffic check FAILED');
    }
    // The stopped replica is gone from the network and from its Services' endpoints; the tests
    // run against what is left.
    podman('rm', '-f', victims[0].name);
    const goneIp = ipOf.get(victims[0].name.replace(`${net}-`, ''));
    for (let i = hosts.length - 1; i >= 0; i--) if (hosts[i][1] === goneIp) hosts.splice(i, 1);
    failed += await runTests('round-2');
    mark('stop-one round done');
  }
  exitCode = failed ? 1 : 0;
} catch (e) {
  console.log(`rehearsal error: ${e.message}`);
} finally {
  cleanup();
}
console.log(`timings (s since start): ${JSON.stringify(timings)}`);
console.log(`rehearsal: ${exitCode ? 'FAIL' : 'PASS'}`);
process.exit(exitCode);
